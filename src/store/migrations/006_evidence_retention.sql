-- 006: evidence retention purges the oldest evidence first.
CREATE INDEX evidence_created_at ON evidence(created_at, id);
