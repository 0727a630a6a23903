-- 009: the statistics count gate passes per hour over a time range.
CREATE INDEX gate_passes_at ON gate_passes(at);
