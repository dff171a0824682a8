import { DeviceIdentity, CryptoError, generateProfileKey, toBase64url, type Primitives } from "@natter/crypto";
import { Name, passwordProblem, type ServerFrameOf } from "@natter/protocol";
import type { Connection } from "./transport/connection.ts";
import { CliError } from "./errors.ts";
import type { HomeStore } from "./home-store.ts";
import { openKeys, sealKeys } from "./key-backup.ts";

/** One-time prekeys made at registration and uploaded after a restore from backup. */
export const INITIAL_PREKEYS = 100;

type Grant = ServerFrameOf<"session">;

/**
 * Authenticates a connection with this home's session: `resume`, and when the token has
 * expired, `refresh` under the home lock (refresh tokens rotate: a process that finds the
 * pair already rotated by another uses the new one instead of spending the old).
 */
export async function resumeSession(connection: Connection, home: HomeStore): Promise<{ userId: string; username: string }> {
  const session = await home.readSession();
  if (!session) throw new CliError("NOT_LOGGED_IN");
  try {
    return await connection.call({ t: "resume", token: session.token }, "resumed");
  } catch (err) {
    if (!(err instanceof CliError && err.code === "TOKEN_EXPIRED")) throw err;
  }
  return home.withLock(async () => {
    const current = await home.readSession();
    if (!current) throw new CliError("NOT_LOGGED_IN");
    if (current.token !== session.token) return connection.call({ t: "resume", token: current.token }, "resumed");
    const grant = await connection.call({ t: "refresh", refresh: current.refresh }, "session");
    await home.writeSession({ ...current, token: grant.token, refresh: grant.refresh, expiresAt: grant.expiresAt });
    return { userId: grant.userId, username: grant.username };
  });
}

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
 * Creates the account: a new device (keys and INITIAL_PREKEYS one-time prekeys) and profile
 * key, their backup under the password, and the `register` request; the home then holds
 * the keys and the session (replacing any other account it held).
 */
export async function register(connection: Connection, home: HomeStore, p: Primitives, creds: Credentials, servers: string[]): Promise<Grant> {
  const username = checkCredentials(creds, true);
  const device = await DeviceIdentity.generate(p, { oneTimePrekeys: INITIAL_PREKEYS });
  const profileKey = generateProfileKey(p);
  const backup = await sealKeys(p, { device, profileKey }, creds.password);
  const grant = await connection.call({ t: "register", username, password: creds.password, bundle: device.publicBundle(), backup }, "session");
  await home.withLock(async () => {
    await home.resetUser();
    await home.writeAccount({ v: 1, userId: grant.userId, username: grant.username, device: device.toJSON(), profileKey: toBase64url(profileKey) });
    await saveGrant(home, grant, servers);
  });
  return grant;
}

/**
 * Logs this home in. A home that already holds this account keeps its keys and sessions;
 * an empty one (or one of another user) restores the device and the profile key from the
 * server's backup and uploads INITIAL_PREKEYS fresh one-time prekeys in place of the
 * backup's (which may have been handed out since). A backup made before profiles gets a
 * new profile key, and is sealed again with it.
 */
export async function login(
  connection: Connection,
  home: HomeStore,
  p: Primitives,
  creds: Credentials & { takeover: boolean },
  servers: string[],
): Promise<{ grant: Grant; restored: boolean }> {
  const username = checkCredentials(creds, false);
  const grant = await connection.call({ t: "login", username, password: creds.password, takeover: creds.takeover || undefined }, "session");
  const existing = await home.readAccount();
  if (existing?.userId === grant.userId) {
    await home.withLock(() => saveGrant(home, grant, servers));
    return { grant, restored: false };
  }
  const { backup } = await connection.call({ t: "backup" }, "backup");
  let restored: Awaited<ReturnType<typeof openKeys>>;
  try {
    restored = await openKeys(p, backup, creds.password);
  } catch (err) {
    if (err instanceof CryptoError && err.code === "BAD_BACKUP_PASSWORD") throw new CliError("BAD_BACKUP_PASSWORD", undefined, { cause: err });
    throw new CliError("BAD_BACKUP_PASSWORD", "the key backup on the server could not be read", { cause: err });
  }
  const { device } = restored;
  const profileKey = restored.profileKey ?? generateProfileKey(p);
  const fresh = await device.generateOneTimePrekeys(INITIAL_PREKEYS);
  // Keys first, so no uploaded prekey is ever missing its private half here.
  await home.withLock(async () => {
    await home.resetUser();
    await home.writeAccount({ v: 1, userId: grant.userId, username: grant.username, device: device.toJSON(), profileKey: toBase64url(profileKey) });
    await saveGrant(home, grant, servers);
  });
  await connection.call({ t: "prekeys", add: fresh, replace: true }, "prekeys");
  if (!restored.profileKey) await connection.call({ t: "backup", put: await sealKeys(p, { device, profileKey }, creds.password) }, "backup");
  return { grant, restored: true };
}

/** Ends the session on the server and forgets the tokens (keys and history stay for the next login). */
export async function logout(connection: Connection, home: HomeStore): Promise<void> {
  await connection.call({ t: "logout" }, "ok");
  await home.withLock(() => home.clearSession());
}

function saveGrant(home: HomeStore, grant: Grant, servers: string[]): Promise<void> {
  return home.writeSession({ v: 1, userId: grant.userId, token: grant.token, refresh: grant.refresh, expiresAt: grant.expiresAt, servers });
}
