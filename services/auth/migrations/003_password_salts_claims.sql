-- The password never reaches auth: the client stretches it under a per-account salt that
-- auth hands out before login, and sends a login secret derived from it. password_hash now
-- holds bcrypt of that secret. Runs with search_path = auth.
ALTER TABLE accounts ADD COLUMN salt text;

-- Prekey claims counted per claimer, per (claimer, target) and per target, in fixed windows.
CREATE TABLE claim_counts (
  key          text PRIMARY KEY,
  window_start timestamptz NOT NULL,
  claims       integer NOT NULL
);
CREATE INDEX claim_counts_window ON claim_counts (window_start);
