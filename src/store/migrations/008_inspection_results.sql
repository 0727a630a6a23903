-- 008: what officers found when they opened a parcel (查验结果), entered on the console;
-- and the indexes the parcel search and the parcel detail read through.
CREATE TABLE inspection_results (
    id            INTEGER PRIMARY KEY,
    parcel_id     INTEGER NOT NULL REFERENCES parcels(id),
    result        TEXT NOT NULL                  -- what the officer concluded
                  CHECK (result IN ('conform', 'discrepancy', 'seized', 'returned')),
    findings      TEXT NOT NULL,                 -- what was found, in the officer's words
    officer       TEXT NOT NULL,
    at            TEXT NOT NULL
);
CREATE INDEX inspection_results_parcel_id ON inspection_results(parcel_id);

-- The search box takes the PLC's tracking number too (it wraps: many parcels share one).
CREATE INDEX parcels_tracking_no ON parcels(tracking_no);
-- A parcel's alarms (drop unconfirmed, lane mismatch) in its timeline; most alarms name none.
CREATE INDEX alarms_parcel_id ON alarms(parcel_id) WHERE parcel_id IS NOT NULL;
