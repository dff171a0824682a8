-- PQXDH: every device's ML-KEM-768 prekeys, each signed by its identity key (signatures are
-- the clients' to check). The last-resort one sits beside the signed prekey and is replaced
-- with it; it is NULL for an account made before PQXDH until its client publishes one.
ALTER TABLE auth.device_keys
  ADD COLUMN kem_last_resort_id        bigint,
  ADD COLUMN kem_last_resort           text,
  ADD COLUMN kem_last_resort_signature text;

-- One-time KEM prekeys: each row is handed out at most once, then deleted.
CREATE TABLE auth.kem_prekeys (
  user_id    uuid NOT NULL REFERENCES auth.accounts (id) ON DELETE CASCADE,
  key_id     bigint NOT NULL,
  public_key text NOT NULL,
  signature  text NOT NULL,
  PRIMARY KEY (user_id, key_id)
);
