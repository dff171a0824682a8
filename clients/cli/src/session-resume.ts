import type { Connection } from "./transport/connection.ts";
import { CliError } from "./errors.ts";
import type { HomeStore } from "./home-store.ts";

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
