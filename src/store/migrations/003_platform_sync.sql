-- 003: platform sync. The outbox of 001 was never used; it is replaced by one keyed by
-- (stream, seq) whose rows leave when the platform acknowledges them.
DROP INDEX outbox_pending;
DROP TABLE outbox;

-- Uplink messages waiting for the platform's acknowledgement, written in the same
-- transaction as the record they describe. The body is the JSON of the message body; the
-- envelope is put around it when it is sent.
CREATE TABLE outbox (
    stream      TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (stream, seq)
) WITHOUT ROWID;

-- Per stream: the next sequence number, the highest one the platform acknowledged, and
-- what is waiting (rows and body bytes, for the disk quota).
CREATE TABLE outbox_streams (
    stream         TEXT PRIMARY KEY,
    next_seq       INTEGER NOT NULL DEFAULT 1,
    acked_seq      INTEGER NOT NULL DEFAULT 0,
    pending_rows   INTEGER NOT NULL DEFAULT 0,
    pending_bytes  INTEGER NOT NULL DEFAULT 0,
    acked_at       TEXT,
    -- messages of a bulk stream not written because the outbox was over its quota
    suppressed     INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- Whether records produce outbox messages (only with a [platform] in the config) and the
-- quota; one row.
CREATE TABLE outbox_settings (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    enabled      INTEGER NOT NULL DEFAULT 0,
    quota_bytes  INTEGER NOT NULL DEFAULT 536870912
);
INSERT INTO outbox_settings (id) VALUES (1);

-- Downlink messages applied, by message id: a redelivery is recognised and not applied twice.
CREATE TABLE downlink_applied (
    message_id  TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    applied_at  TEXT NOT NULL
) WITHOUT ROWID;

-- Downlink messages that could not be applied, with the reason.
CREATE TABLE dead_letters (
    id           INTEGER PRIMARY KEY,
    received_at  TEXT NOT NULL,
    topic        TEXT NOT NULL,
    reason       TEXT NOT NULL,                  -- too_large, not_utf8, malformed, ...
    detail       TEXT NOT NULL,
    message_id   TEXT,
    bytes        INTEGER NOT NULL,
    payload      BLOB                            -- the first 64 KiB as received
);

-- Periodic statistics read parcels by decision time.
CREATE INDEX parcels_decided_at ON parcels(decided_at);
