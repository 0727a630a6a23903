-- The heads of the audit chain sent uplink (audit_anchor on the officer stream), and which
-- of them the platform acknowledged: `audit verify` checks the chain against the last one.
CREATE TABLE audit_anchors (
    outbox_seq  INTEGER PRIMARY KEY,          -- its sequence number on the officer stream
    audit_seq   INTEGER NOT NULL,             -- audit_log.id of the chain head it carries
    hash        TEXT NOT NULL,                -- that entry's hash
    entry_at    TEXT NOT NULL,
    reason      TEXT NOT NULL,                -- interval, or the action that made the entry
    sent_at     TEXT NOT NULL,
    acked_at    TEXT                          -- when the platform's ack covered it
);
CREATE INDEX audit_anchors_acked ON audit_anchors (acked_at, outbox_seq);
