-- Blocks and encrypted profiles. Runs with search_path = auth.

-- One row per block; a block is one-way, its effects apply both ways.
CREATE TABLE blocks (
  blocker    uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  blocked    uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (blocker, blocked),
  CHECK (blocker <> blocked)
);
CREATE INDEX blocks_blocked ON blocks (blocked);

-- The client's profile, encrypted under a profile key the server never sees.
CREATE TABLE profiles (
  user_id    uuid PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
  blob       text NOT NULL,
  updated_at timestamptz NOT NULL
);
