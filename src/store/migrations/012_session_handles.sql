-- Sessions an administrator can list and revoke: a handle that is not the token (nor its
-- hash) to name one by, and the address the login came from.
ALTER TABLE sessions ADD COLUMN handle TEXT;
ALTER TABLE sessions ADD COLUMN source_ip TEXT;
UPDATE sessions SET handle = lower(hex(randomblob(12))) WHERE handle IS NULL;
CREATE UNIQUE INDEX sessions_handle ON sessions(handle);
