-- When each user was last seen online. Runs with search_path = presence.
-- Who is online now lives in each replica's memory, rebuilt from the edges' events.
-- Times come from the service's clock (parameters), not now(), so tests can move time.

CREATE TABLE last_seen (
  user_id  uuid PRIMARY KEY,
  -- kept beside the id: presence answers with names and reads no other service's tables
  username text NOT NULL CHECK (username ~ '^[a-z0-9_.-]{3,32}$'),
  seen_at  timestamptz NOT NULL
);
CREATE INDEX last_seen_seen_at ON last_seen (seen_at);
