-- Accounts, device keys, sessions and login limits. Runs with search_path = auth.
-- Times come from the service's clock (parameters), not now(), so tests can move time.

CREATE TABLE accounts (
  id            uuid PRIMARY KEY,
  username      text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9_.-]{3,32}$'),
  password_hash text NOT NULL,
  -- consecutive failed logins since the last success or lock
  failed_logins integer NOT NULL DEFAULT 0,
  locked_until  timestamptz,
  created_at    timestamptz NOT NULL
);

-- The public half of a user's device keys (private keys never reach the server).
CREATE TABLE device_keys (
  user_id                 uuid PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
  identity_key            text NOT NULL,
  identity_dh_key         text NOT NULL,
  identity_dh_signature   text NOT NULL,
  signed_prekey_id        bigint NOT NULL,
  signed_prekey           text NOT NULL,
  signed_prekey_signature text NOT NULL,
  updated_at              timestamptz NOT NULL
);

-- Each row is handed out at most once, then deleted.
CREATE TABLE one_time_prekeys (
  user_id    uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  key_id     bigint NOT NULL,
  public_key text NOT NULL,
  signature  text NOT NULL,
  PRIMARY KEY (user_id, key_id)
);

-- The client's encrypted key backup (opaque to the server).
CREATE TABLE key_backups (
  user_id    uuid PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
  backup     text NOT NULL,
  updated_at timestamptz NOT NULL
);

-- One row per login; the refresh token is kept only as its SHA-256.
CREATE TABLE sessions (
  sid                uuid PRIMARY KEY,
  user_id            uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  refresh_hash       text NOT NULL UNIQUE,
  created_at         timestamptz NOT NULL,
  refreshed_at       timestamptz NOT NULL,
  refresh_expires_at timestamptz NOT NULL,
  revoked_at         timestamptz
);
CREATE INDEX sessions_user_id ON sessions (user_id);

-- Login and register attempts per client address in fixed one-minute windows,
-- shared by every auth replica.
CREATE TABLE address_attempts (
  addr         text PRIMARY KEY,
  window_start timestamptz NOT NULL,
  attempts     integer NOT NULL
);
CREATE INDEX address_attempts_window ON address_attempts (window_start);
