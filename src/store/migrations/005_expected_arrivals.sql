-- 005: expected arrivals (运抵预报) from the platform. Which truck (plate) is coming with
-- which bill (the carrier's bill or manifest number) and which waybills, kept until the
-- truck passes an entry gate; then the bill is `arrived` for good, with the gate pass that
-- brought it, and its CEB507 arrival report is sent from it.
CREATE TABLE expected_arrivals (
    bill_no       TEXT PRIMARY KEY,
    vehicle_no    TEXT NOT NULL,                   -- plate (CEB507 domesticTrafNo)
    status        TEXT NOT NULL DEFAULT 'expected' -- expected | arrived
                  CHECK (status IN ('expected', 'arrived')),
    gate_pass_id  INTEGER,                         -- the entry that brought it (gate_passes.id)
    received_at   TEXT NOT NULL,                   -- the first notice; the order trucks are expected in
    updated_at    TEXT NOT NULL,                   -- the last notice that replaced it
    arrived_at    TEXT
);
CREATE INDEX expected_arrivals_vehicle_status ON expected_arrivals(vehicle_no, status);

CREATE TABLE expected_arrival_items (
    bill_no           TEXT NOT NULL REFERENCES expected_arrivals(bill_no) ON DELETE CASCADE,
    seq               INTEGER NOT NULL,            -- from 1, in the notice's order
    logistics_no      TEXT NOT NULL,
    total_package_no  TEXT,
    PRIMARY KEY (bill_no, seq)
);
