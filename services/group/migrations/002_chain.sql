-- Each group's membership as a chain of signed changes (see docs/SECURITY.md). The groups
-- and members tables are its projection: written in the same transaction as each entry.
-- Groups made before this migration have no chain: they keep their messages flowing but
-- take no more changes (their members make them again).

CREATE TABLE chain_entries (
  group_id uuid NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
  seq      integer NOT NULL CHECK (seq >= 0),
  -- the entry's hash (base64url), the head when it is the last
  hash     text NOT NULL,
  -- the signed entry as its signer wrote it (canonical JSON)
  entry    text NOT NULL,
  PRIMARY KEY (group_id, seq)
);
