-- Login failures per (username, address) and per username, counted before any password is
-- checked; sessions with an absolute lifetime, where they came from, and the refresh tokens
-- they have spent (so a reused one ends its session). Runs with search_path = auth.

-- Keyed by the folded name a client typed, whether or not an account has it, so the
-- answers are the same for a missing name.
CREATE TABLE login_pairs (
  username     text NOT NULL,
  addr         text NOT NULL,
  failures     integer NOT NULL DEFAULT 0,
  locked_until timestamptz,
  -- first successful login from this address: the owner's, never delayed for strangers
  known_since  timestamptz,
  updated_at   timestamptz NOT NULL,
  PRIMARY KEY (username, addr)
);
CREATE INDEX login_pairs_updated ON login_pairs (updated_at) WHERE known_since IS NULL;

CREATE TABLE login_accounts (
  username        text PRIMARY KEY,
  failures        integer NOT NULL DEFAULT 0,
  not_before      timestamptz,
  last_failure_at timestamptz,
  updated_at      timestamptz NOT NULL
);
CREATE INDEX login_accounts_updated ON login_accounts (updated_at);

ALTER TABLE sessions
  ADD COLUMN addr       text NOT NULL DEFAULT '',
  ADD COLUMN last_addr  text NOT NULL DEFAULT '',
  ADD COLUMN expires_at timestamptz;
UPDATE sessions SET expires_at = created_at + interval '90 days', last_addr = addr;
ALTER TABLE sessions ALTER COLUMN expires_at SET NOT NULL;

-- Every refresh token a session has rotated away from, as its SHA-256.
CREATE TABLE spent_refresh_tokens (
  hash     text PRIMARY KEY,
  sid      uuid NOT NULL REFERENCES sessions (sid) ON DELETE CASCADE,
  spent_at timestamptz NOT NULL
);
CREATE INDEX spent_refresh_tokens_sid ON spent_refresh_tokens (sid);
