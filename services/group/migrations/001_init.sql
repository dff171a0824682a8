-- Groups, their members, and membership events waiting to be published.
-- Runs with search_path = grp. Times come from the service's clock (parameters).

-- Usernames as auth resolved them (a denormalised cache: usernames never change).
CREATE TABLE users (
  id       uuid PRIMARY KEY,
  username text NOT NULL CHECK (username ~ '^[a-z0-9_.-]{3,32}$')
);

CREATE TABLE groups (
  id         uuid PRIMARY KEY,
  name       text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9_.-]{3,32}$'),
  closed     boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL
);

CREATE TABLE members (
  group_id  uuid NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
  user_id   uuid NOT NULL REFERENCES users (id),
  role      text NOT NULL CHECK (role IN ('admin', 'member')),
  joined_at timestamptz NOT NULL,
  -- insertion order, so members who joined in the same instant keep their order
  seq       bigserial NOT NULL,
  PRIMARY KEY (group_id, user_id)
);
CREATE INDEX members_user_id ON members (user_id);

-- Membership events written in the same transaction as the change they announce, and
-- deleted once every recipient's copy is in JetStream (a transactional outbox).
CREATE TABLE outbox (
  id         bigserial PRIMARY KEY,
  message_id uuid NOT NULL,
  recipients uuid[] NOT NULL,
  -- the InboxMessage, MessagePack as stored in the inbox
  record     bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
