-- 007: people who use the consoles, their roles, and their login sessions.
--
-- There is no default account: the first administrator is created at first start
-- (POST /api/setup, CUSTOMS_EDGE_ADMIN_USER/_PASSWORD, or `accounts create-admin`).
-- Every change to an account is also appended to the audit log.

CREATE TABLE accounts (
    id             INTEGER PRIMARY KEY,
    username       TEXT NOT NULL UNIQUE COLLATE NOCASE,
    display_name   TEXT NOT NULL DEFAULT '',
    role           TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'officer', 'admin')),
    password_hash  TEXT NOT NULL,                   -- argon2id PHC string, never the password
    created_at     TEXT NOT NULL,
    disabled       INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    failed_logins  INTEGER NOT NULL DEFAULT 0,      -- wrong passwords since the last lock or login
    locked_until   TEXT                             -- no login before this time (UTC)
);

-- A login session. The browser holds a random token; only its SHA-256 is kept here, so a
-- copy of the database does not let anyone log in.
CREATE TABLE sessions (
    token_sha256   TEXT PRIMARY KEY,
    account_id     INTEGER NOT NULL REFERENCES accounts(id),
    csrf_token     TEXT NOT NULL,                   -- sent back in X-CSRF-Token on every change
    created_at     TEXT NOT NULL,
    last_seen      TEXT NOT NULL,                   -- idle timeout counts from here
    expires_at     TEXT NOT NULL,                   -- absolute end, whatever the activity
    user_agent     TEXT
) WITHOUT ROWID;
CREATE INDEX sessions_account_id ON sessions(account_id);
CREATE INDEX sessions_expires_at ON sessions(expires_at);
