-- 010: a hold wins whenever it comes. Parcels that drop into a release lane go into that
-- lane's open bag (总包); a hold that arrives after a release decision is handed to the line
-- (late_holds) to command the lane again, or opens an interception when the parcel has
-- dropped; a revised decision keeps both versions.
CREATE TABLE bags (
    id          INTEGER PRIMARY KEY,
    line_id     TEXT NOT NULL,
    lane        INTEGER NOT NULL,
    opened_at   TEXT NOT NULL,
    closed_at   TEXT,
    closed_by   TEXT,
    bag_no      TEXT UNIQUE                      -- totalPackageNo, given when it is closed
);
-- At most one open bag per lane.
CREATE UNIQUE INDEX bags_open ON bags(line_id, lane) WHERE closed_at IS NULL;

ALTER TABLE parcels ADD COLUMN bag_id INTEGER REFERENCES bags(id);
CREATE INDEX parcels_bag_id ON parcels(bag_id) WHERE bag_id IS NOT NULL;

-- A decision changed after it was made: both versions and why.
CREATE TABLE decision_revisions (
    id              INTEGER PRIMARY KEY,
    parcel_id       INTEGER NOT NULL REFERENCES parcels(id),
    at              TEXT NOT NULL,
    cause           TEXT NOT NULL,
    old_lane        INTEGER,
    old_lane_kind   TEXT,
    old_reasons     TEXT,
    new_lane        INTEGER NOT NULL,
    new_lane_kind   TEXT NOT NULL,
    new_reasons     TEXT NOT NULL
);
CREATE INDEX decision_revisions_parcel_id ON decision_revisions(parcel_id);

-- A hold that came after a parcel was decided for release, and what became of it.
CREATE TABLE late_holds (
    id              INTEGER PRIMARY KEY,
    parcel_id       INTEGER NOT NULL REFERENCES parcels(id),
    line_id         TEXT NOT NULL,
    cause           TEXT NOT NULL,
    at              TEXT NOT NULL,
    outcome         TEXT                         -- NULL while the line acts on it
                    CHECK (outcome IN ('recommanded', 'intercepted')),
    resolved_at     TEXT,
    interception_id INTEGER REFERENCES interceptions(id)
);
CREATE INDEX late_holds_pending ON late_holds(line_id, id) WHERE outcome IS NULL;
CREATE INDEX late_holds_parcel_id ON late_holds(parcel_id);

-- A parcel held (or never released) that dropped into a release lane: it and its bag count
-- as held until its retrieval is recorded.
CREATE TABLE interceptions (
    id                INTEGER PRIMARY KEY,
    parcel_id         INTEGER NOT NULL UNIQUE REFERENCES parcels(id),
    logistics_no      TEXT,
    line_id           TEXT NOT NULL,
    lane              INTEGER NOT NULL,
    bag_id            INTEGER REFERENCES bags(id),
    dropped_at        TEXT,
    cause             TEXT NOT NULL,
    opened_at         TEXT NOT NULL,
    alarm_id          INTEGER,
    retrieved_at      TEXT,
    retrieved_by      TEXT,
    retrieval_scan    TEXT,                      -- the label scanned at retrieval, if any
    retrieval_reason  TEXT                       -- why recorded by hand, if no scan
);
CREATE INDEX interceptions_open ON interceptions(opened_at) WHERE retrieved_at IS NULL;
CREATE INDEX interceptions_bag_id ON interceptions(bag_id) WHERE bag_id IS NOT NULL;
CREATE INDEX interceptions_logistics_no ON interceptions(logistics_no);
