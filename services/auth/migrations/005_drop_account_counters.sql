-- Logins are counted per (name, address) and per name in login_pairs and login_accounts (004):
-- the account's own counters are no longer read.
ALTER TABLE auth.accounts DROP COLUMN failed_logins, DROP COLUMN locked_until;
