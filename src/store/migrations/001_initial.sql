-- 001: the first schema. Times are RFC 3339 UTC text; weights in kilograms.

-- Declaration lists (清单, CEB603) as received from the platform or imported.
CREATE TABLE declaration_lists (
    logistics_no      TEXT PRIMARY KEY,          -- waybill number: what the parcel's barcode says
    invt_no           TEXT,                      -- list number, 18 chars
    order_no          TEXT,
    trade_mode        TEXT,                      -- 9610, 9710, 9810, 1210
    ebc_code          TEXT,                      -- e-commerce company
    ebc_name          TEXT,
    country           TEXT,                      -- destination
    gross_weight_kg   REAL,
    net_weight_kg     REAL,
    pack_no           INTEGER,
    total_package_no  TEXT,                      -- bag or pallet
    loct_no           TEXT,                      -- supervision site code
    return_status     INTEGER NOT NULL,          -- customs status; only 800 releases
    return_info       TEXT,
    source            TEXT NOT NULL,             -- import file or platform message
    received_at       TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);
CREATE INDEX declaration_lists_invt_no ON declaration_lists(invt_no);
CREATE INDEX declaration_lists_order_no ON declaration_lists(order_no);

CREATE TABLE declaration_goods (
    logistics_no  TEXT NOT NULL REFERENCES declaration_lists(logistics_no) ON DELETE CASCADE,
    g_num         INTEGER NOT NULL,              -- line number within the list
    item_name     TEXT NOT NULL,
    gcode         TEXT,                          -- HS code
    qty           REAL,
    unit          TEXT,
    price         REAL,
    total_price   REAL,
    currency      TEXT,
    PRIMARY KEY (logistics_no, g_num)
);

-- Exit permits (核放单).
CREATE TABLE exit_permits (
    permit_no              TEXT PRIMARY KEY,
    vehicle_no             TEXT NOT NULL,        -- plate
    vehicle_weight_kg      REAL,
    frame_weight_kg        REAL,
    container_no           TEXT,
    container_weight_kg    REAL,
    total_gross_weight_kg  REAL,
    status                 INTEGER NOT NULL,     -- 0 applied, 1 approved, 2 passed, 3/4 gate 1/2, 5 deleted, 6 voided
    updated_at             TEXT NOT NULL
);
CREATE INDEX exit_permits_vehicle_no ON exit_permits(vehicle_no);

CREATE TABLE exit_permit_items (
    permit_no         TEXT NOT NULL REFERENCES exit_permits(permit_no) ON DELETE CASCADE,
    seq               INTEGER NOT NULL,
    bill_no           TEXT,
    logistics_no      TEXT,
    total_package_no  TEXT,
    PRIMARY KEY (permit_no, seq)
);

-- Parcels on a sorting line, from the entry photo-eye to the lane.
CREATE TABLE parcels (
    id                  INTEGER PRIMARY KEY,
    line_id             TEXT NOT NULL,
    tracking_no         INTEGER NOT NULL,        -- the PLC's number at the photo-eye (wraps)
    entered_at          TEXT NOT NULL,
    length_mm           INTEGER,
    logistics_no        TEXT,                    -- the agreed barcode read, if any
    read_status         TEXT NOT NULL DEFAULT 'pending',  -- pending, read, no_read, conflict, none
    decided_at          TEXT,
    lane                INTEGER,                 -- lane decided
    lane_kind           TEXT,                    -- release, inspection, exception
    reasons             TEXT,                    -- JSON array of reason codes
    command_written_at  TEXT,
    command_acked_at    TEXT,
    dropped_lane        INTEGER,                 -- lane the PLC reported the parcel fell into
    dropped_at          TEXT,
    outcome             TEXT NOT NULL DEFAULT 'in_flight'  -- in_flight, sorted, lane_mismatch, interrupted
);
CREATE INDEX parcels_logistics_no ON parcels(logistics_no);
CREATE INDEX parcels_entered_at ON parcels(entered_at);
CREATE INDEX parcels_in_flight ON parcels(line_id, outcome) WHERE outcome = 'in_flight';

-- Every message from a scanner, good or bad.
CREATE TABLE scans (
    id          INTEGER PRIMARY KEY,
    line_id     TEXT NOT NULL,
    scanner     TEXT NOT NULL,
    parcel_id   INTEGER REFERENCES parcels(id),  -- NULL when no parcel could own it
    at          TEXT NOT NULL,
    kind        TEXT NOT NULL,                   -- code, no_read, invalid
    code        TEXT,
    detail      TEXT                             -- why invalid or unassigned, and the raw bytes
);
CREATE INDEX scans_parcel_id ON scans(parcel_id);

-- Raw device readings per parcel (weight, dimensions, X-ray state ...).
CREATE TABLE readings (
    id         INTEGER PRIMARY KEY,
    parcel_id  INTEGER NOT NULL REFERENCES parcels(id),
    kind       TEXT NOT NULL,
    value      REAL,
    unit       TEXT,
    raw        TEXT,
    at         TEXT NOT NULL
);
CREATE INDEX readings_parcel_id ON readings(parcel_id);

-- Trucks through a gate lane.
CREATE TABLE gate_passes (
    id               INTEGER PRIMARY KEY,
    gate_id          TEXT NOT NULL,
    direction        TEXT NOT NULL,              -- in, out
    plate            TEXT,
    permit_no        TEXT,
    weight_kg        REAL,
    verdict          TEXT NOT NULL,              -- released, refused, override
    reasons          TEXT,                       -- JSON array
    led_text         TEXT,
    override_by      TEXT,
    override_reason  TEXT,
    at               TEXT NOT NULL
);

-- Evidence files (X-ray views, camera frames, plate snapshots), by content hash.
CREATE TABLE evidence (
    id            INTEGER PRIMARY KEY,
    sha256        TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL,                 -- xray_view, camera_frame, plate_snapshot
    path          TEXT NOT NULL,                 -- relative to the data directory
    thumb_path    TEXT,                          -- NULL when the image did not decode
    bytes         INTEGER NOT NULL,
    width         INTEGER,
    height        INTEGER,
    decode_error  TEXT,
    source_name   TEXT,                          -- the device's own file name
    produced_at   TEXT,                          -- file time or camera time
    created_at    TEXT NOT NULL
);

-- One evidence file may back several records (a late X-ray view, a frozen camera frame).
CREATE TABLE evidence_links (
    evidence_id  INTEGER NOT NULL REFERENCES evidence(id),
    record_kind  TEXT NOT NULL,                  -- parcel, gate_pass
    record_id    INTEGER NOT NULL,
    role         TEXT,                           -- e.g. late_view (after the decision)
    linked_at    TEXT NOT NULL,
    PRIMARY KEY (record_kind, record_id, evidence_id)
) WITHOUT ROWID;
CREATE INDEX evidence_links_evidence ON evidence_links(evidence_id);

-- Messages for the central platform, written with the record they describe.
CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY,
    stream      TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    body        TEXT NOT NULL,                   -- JSON
    created_at  TEXT NOT NULL,
    sent_at     TEXT,
    acked_at    TEXT,
    UNIQUE (stream, seq)
);
CREATE INDEX outbox_pending ON outbox(stream, seq) WHERE acked_at IS NULL;

-- Officer and operator actions: append-only, each entry hashes the one before it.
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    at         TEXT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    subject    TEXT,
    detail     TEXT,                             -- JSON
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

-- Bad input kept for inspection: what came in, from where, and why it was refused.
CREATE TABLE rejected_inputs (
    id       INTEGER PRIMARY KEY,
    at       TEXT NOT NULL,
    source   TEXT NOT NULL,                      -- e.g. import:FILE:LINE, scanner:L1/top
    reason   TEXT NOT NULL,
    payload  TEXT
);
