import { checkCredentials, newAccountKeys, register } from "../account.ts";
import type { Invocation } from "../invocation.ts";
import { readPassword } from "../password.ts";

/** `natter register <username>`: creates the account and logs this home in. */
export async function registerCommand(ctx: Invocation, username: string, opts: { passwordStdin?: boolean }): Promise<void> {
  checkCredentials({ username, password: "" }, false);
  const password = await readPassword(ctx.deps.stdin, (t) => ctx.deps.stderr.write(t), {
    fromStdin: opts.passwordStdin === true,
    prompt: `choose a password for ${username}: `,
    confirm: true,
  });
  checkCredentials({ username, password }, true);
  const [home, p, servers] = await Promise.all([ctx.home(), ctx.deps.primitives(), ctx.servers()]);
  const made = await newAccountKeys(p, { username, password });
  const connection = await ctx.connect();
  try {
    const grant = await register(connection, home, made, ctx.serverList(servers));
    ctx.printer.result(`registered ${grant.username}: this home is logged in`, { userId: grant.userId, username: grant.username, status: "registered" });
  } finally {
    await connection.end();
  }
}
