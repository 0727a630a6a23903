-- 004: the gate loop. A gate pass keeps how its plate was agreed (the reads and the
-- consensus, as JSON), whether its weight was stable, when the truck cleared the exit
-- loop, and how many vehicles went through the opening (two or more raise an alarm).
ALTER TABLE gate_passes ADD COLUMN consensus TEXT;
ALTER TABLE gate_passes ADD COLUMN weight_stable INTEGER;
ALTER TABLE gate_passes ADD COLUMN cleared_at TEXT;
ALTER TABLE gate_passes ADD COLUMN vehicles INTEGER;
CREATE INDEX gate_passes_gate_at ON gate_passes(gate_id, at);
