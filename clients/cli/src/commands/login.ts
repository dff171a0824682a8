import { checkCredentials, login } from "../account.ts";
import type { Invocation } from "../invocation.ts";
import { readPassword } from "../password.ts";

/** `natter login <username>`: logs this home in, restoring the keys from the backup when it has none. */
export async function loginCommand(ctx: Invocation, username: string, opts: { passwordStdin?: boolean; takeover?: boolean }): Promise<void> {
  checkCredentials({ username, password: "" }, false);
  const password = await readPassword(ctx.deps.stdin, (t) => ctx.deps.stderr.write(t), {
    fromStdin: opts.passwordStdin === true,
    prompt: `password for ${username}: `,
  });
  const [home, p, servers] = await Promise.all([ctx.home(), ctx.deps.primitives(), ctx.servers()]);
  const connection = await ctx.connect();
  try {
    const { grant, restored } = await login(connection, home, p, { username, password, takeover: opts.takeover === true }, ctx.serverList(servers));
    ctx.printer.result(`logged in as ${grant.username}${restored ? " (keys restored from the backup)" : ""}`, {
      userId: grant.userId,
      username: grant.username,
      status: "logged in",
      restored,
    });
  } finally {
    await connection.end();
  }
}
