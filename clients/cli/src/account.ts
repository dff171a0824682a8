import { DeviceIdentity, CryptoError, fromBase64url, generateProfileKey, toBase64url, type Primitives } from "@natter/crypto";
import { Name, passwordProblem, type ServerFrameOf } from "@natter/protocol";
import type { Connection } from "./transport/connection.ts";
import { CliError } from "./errors.ts";
import type { HomeStore } from "./home-store.ts";
import { openKeys, resealBackup, sealKeys } from "./key-backup.ts";
import { derivePasswordKeys, newPasswordSalt, type PasswordKeys } from "./password-keys.ts";

/** One-time prekeys made at registration and uploaded after a restore from backup. */
export const INITIAL_PREKEYS = 100;

type Grant = ServerFrameOf<"session">;

export interface Credentials {
  username: string;
  password: string;
}

/** Checks what the server would refuse anyway, before any slow key work. */
export function checkCredentials({ username, password }: Credentials, registering: boolean): string {
  const name = Name.safeParse(username);
  if (!name.success) throw new CliError("INVALID_USERNAME");
  if (registering) {
    const problem = passwordProblem(password);
    if (problem) throw new CliError(problem);
  }
  return name.data;
}

/**
 * Creates the account: a new device (keys, INITIAL_PREKEYS one-time prekeys, and as many
 * one-time ML-KEM-768 prekeys beside a signed last-resort one, for PQXDH) and profile
 * key; a fresh salt, the login secret and backup key from the password (`password-keys.ts`);
 * the backup sealed under the backup key, and the `register` request, which carries the
 * salt, the login secret and the sealed backup, never the password. The home then holds
 * the keys, the backup key and the session (replacing any other account it held).
 */
/** What a new account is made of, made before any connection opens. */
export interface NewAccountKeys {
  username: string;
  salt: string;
  device: DeviceIdentity;
  keys: PasswordKeys;
  profileKey: Uint8Array;
  backup: string;
}

/**
 * The keys of a new account: its device (with its one-time prekeys of each kind), the
 * password's login secret and backup key, the profile key and the sealed backup. Made
 * before connecting, so a slow machine does not spend the edge's login window on them.
 */
export async function newAccountKeys(p: Primitives, creds: Credentials): Promise<NewAccountKeys> {
  const username = checkCredentials(creds, true);
  const salt = newPasswordSalt(p);
  const [device, keys] = await Promise.all([DeviceIdentity.generate(p, { oneTimePrekeys: INITIAL_PREKEYS }), derivePasswordKeys(p, creds.password, salt)]);
  const profileKey = generateProfileKey(p);
  const backup = await sealKeys(p, { device, profileKey }, keys.backupKey);
  return { username, salt, device, keys, profileKey, backup };
}

/** Creates the account made of `made` and logs this home in as it. */
export async function register(connection: Connection, home: HomeStore, made: NewAccountKeys, servers: string[]): Promise<Grant> {
  const { username, salt, device, keys, profileKey, backup } = made;
  const grant = await connection.call({ t: "register", username, salt, secret: keys.loginSecret, bundle: device.publicBundle(), backup }, "session");
  await home.withLock(async () => {
    await home.resetUser();
    await home.writeAccount({
      v: 1, userId: grant.userId, username: grant.username, device: device.toJSON(), profileKey: toBase64url(profileKey), backupKey: toBase64url(keys.backupKey),
      signedPrekeyAt: Date.now(),
    });
    await saveGrant(home, grant, servers);
  });
  return grant;
}

/** The login secret and backup key of `password`, under the salt auth answers for `username`. */
async function keysFor(connection: Connection, p: Primitives, username: string, password: string): Promise<PasswordKeys> {
  const { salt } = await connection.call({ t: "salt", username }, "salt");
  return derivePasswordKeys(p, password, salt);
}

/**
 * Logs this home in with the login secret derived from the password under the account's
 * salt. A home that already holds this account keeps its keys and sessions (and takes the
 * backup key of this password, which may have been changed elsewhere); an empty one (or
 * one of another user) restores the device and the profile key from the server's backup
 * and uploads INITIAL_PREKEYS fresh one-time prekeys of each kind (curve and KEM) in place
 * of the backup's (which may have been handed out since), then seals the backup again with them.
 */
export async function login(
  connection: Connection,
  home: HomeStore,
  p: Primitives,
  creds: Credentials & { takeover: boolean },
  servers: string[],
): Promise<{ grant: Grant; restored: boolean }> {
  const username = checkCredentials(creds, false);
  const keys = await keysFor(connection, p, username, creds.password);
  const grant = await connection.call({ t: "login", username, secret: keys.loginSecret, takeover: creds.takeover || undefined }, "session");
  const backupKey = toBase64url(keys.backupKey);
  const existing = await home.readAccount();
  if (existing?.userId === grant.userId) {
    await home.withLock(async (locked) => {
      const account = await locked.loggedIn();
      if (account.backupKey !== backupKey) await locked.writeAccount({ ...account, backupKey });
      await saveGrant(home, grant, servers);
    });
    return { grant, restored: false };
  }
  const { backup } = await connection.call({ t: "backup" }, "backup");
  let restored: Awaited<ReturnType<typeof openKeys>>;
  try {
    restored = await openKeys(p, backup, keys.backupKey);
  } catch (err) {
    if (err instanceof CryptoError && err.code === "BAD_BACKUP_PASSWORD") throw new CliError("BAD_BACKUP_PASSWORD", undefined, { cause: err });
    throw new CliError("BAD_BACKUP_PASSWORD", "the key backup on the server could not be read", { cause: err });
  }
  const { device } = restored;
  const profileKey = restored.profileKey ?? generateProfileKey(p);
  const fresh = await device.generateOneTimePrekeys(INITIAL_PREKEYS);
  const freshKem = await device.addKemPrekeys(INITIAL_PREKEYS);
  const account = { v: 1 as const, userId: grant.userId, username: grant.username, device: device.toJSON(), profileKey: toBase64url(profileKey), backupKey };
  // Keys first, so no uploaded prekey is ever missing its private half here.
  await home.withLock(async () => {
    await home.resetUser();
    await home.writeAccount(account);
    await saveGrant(home, grant, servers);
  });
  await connection.call({ t: "prekeys", add: fresh, addKem: freshKem, replace: true }, "prekeys");
  // The backup still holds the spent prekeys: seal it again with the fresh ones.
  await home.withLock(() => resealBackup(p, account, (put) => connection.call({ t: "backup", put }, "backup")));
  return { grant, restored: true };
}

/**
 * Changes the password of the logged-in account: proves the current one with its login
 * secret, makes a new salt, login secret and backup key, seals the backup under the new
 * key and sends all three in one `passwd` request (auth ends every other session of the
 * account). Under the home lock, so no re-seal under the old key can follow it.
 */
export async function changePassword(connection: Connection, home: HomeStore, p: Primitives, passwords: { current: string; next: string }): Promise<void> {
  const problem = passwordProblem(passwords.next);
  if (problem) throw new CliError(problem);
  const me = await home.loggedIn();
  const salt = newPasswordSalt(p);
  const [current, next] = await Promise.all([keysFor(connection, p, me.username, passwords.current), derivePasswordKeys(p, passwords.next, salt)]);
  await home.withLock(async (locked) => {
    const account = await locked.loggedIn();
    const device = await DeviceIdentity.fromJSON(p, account.device);
    const profileKey = account.profileKey === undefined ? generateProfileKey(p) : fromBase64url(account.profileKey);
    const backup = await sealKeys(p, { device, profileKey }, next.backupKey);
    await connection.call({ t: "passwd", secret: current.loginSecret, salt, newSecret: next.loginSecret, backup }, "ok");
    await locked.writeAccount({ ...account, profileKey: toBase64url(profileKey), backupKey: toBase64url(next.backupKey) });
  });
}

/** Ends the session on the server and forgets the tokens (keys and history stay for the next login). */
export async function logout(connection: Connection, home: HomeStore): Promise<void> {
  await connection.call({ t: "logout" }, "ok");
  await home.withLock(() => home.clearSession());
}

function saveGrant(home: HomeStore, grant: Grant, servers: string[]): Promise<void> {
  return home.writeSession({ v: 1, userId: grant.userId, token: grant.token, refresh: grant.refresh, expiresAt: grant.expiresAt, servers });
}
