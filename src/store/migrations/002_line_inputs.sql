-- 002: what the sorting line decides on besides the declaration list, and what it raises.

-- Instructions from the platform for a waybill: inspect, hold, or release (which lifts an
-- earlier inspect/hold). The newest one for a waybill stands.
CREATE TABLE customs_instructions (
    id            INTEGER PRIMARY KEY,
    logistics_no  TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('inspect', 'hold', 'release')),
    reason        TEXT,
    source        TEXT NOT NULL,                 -- platform message id, import, operator
    issued_at     TEXT NOT NULL,
    received_at   TEXT NOT NULL
);
CREATE INDEX customs_instructions_logistics_no ON customs_instructions(logistics_no, id);

-- Officer flags from X-ray judging: a parcel (by record id) or a waybill to inspect.
CREATE TABLE officer_flags (
    id            INTEGER PRIMARY KEY,
    parcel_id     INTEGER REFERENCES parcels(id),
    logistics_no  TEXT,
    officer       TEXT NOT NULL,
    reason        TEXT NOT NULL,
    at            TEXT NOT NULL,
    CHECK (parcel_id IS NOT NULL OR logistics_no IS NOT NULL)
);
CREATE INDEX officer_flags_parcel_id ON officer_flags(parcel_id);
CREATE INDEX officer_flags_logistics_no ON officer_flags(logistics_no);

-- What the line measured and when the parcel passed each station.
ALTER TABLE parcels ADD COLUMN weight_kg REAL;
ALTER TABLE parcels ADD COLUMN weight_stable INTEGER;
ALTER TABLE parcels ADD COLUMN weighed_at TEXT;
ALTER TABLE parcels ADD COLUMN xray_entered_at TEXT;
ALTER TABLE parcels ADD COLUMN xray_images INTEGER NOT NULL DEFAULT 0;
ALTER TABLE parcels ADD COLUMN ebc_code TEXT;
-- 1 when the measured weight was out of tolerance: counted per company for risk statistics.
ALTER TABLE parcels ADD COLUMN weight_mismatch INTEGER NOT NULL DEFAULT 0;
-- The facts the decision used (JSON), so every decision can be explained later.
ALTER TABLE parcels ADD COLUMN decision_inputs TEXT;
-- Risk signals kept for statistics (JSON).
ALTER TABLE parcels ADD COLUMN risk TEXT;
-- Counting a company's recent mismatches reads only the mismatches, not all its parcels.
CREATE INDEX parcels_ebc_mismatch ON parcels(ebc_code, weight_mismatch, decided_at);

-- Alarms for the operators: device faults, unconfirmed drops, lost tracking.
CREATE TABLE alarms (
    id          INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    source      TEXT NOT NULL,                   -- line:L1:plc, line:L1, ...
    kind        TEXT NOT NULL,
    detail      TEXT NOT NULL,
    parcel_id   INTEGER REFERENCES parcels(id),
    cleared_at  TEXT,
    acked_by    TEXT,
    acked_at    TEXT
);
CREATE INDEX alarms_open ON alarms(cleared_at, at);
