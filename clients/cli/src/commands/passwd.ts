import { changePassword } from "../account.ts";
import type { Invocation } from "../invocation.ts";
import { readPasswordChange } from "../password.ts";

/**
 * `natter passwd`: changes the password. The key backup is sealed again under the new
 * password's key, and every other session of the account ends (other homes log in again).
 */
export async function passwdCommand(ctx: Invocation, opts: { passwordStdin?: boolean }): Promise<void> {
  const home = await ctx.home();
  const me = await home.loggedIn();
  const passwords = await readPasswordChange(ctx.deps.stdin, (t) => ctx.deps.stderr.write(t), opts.passwordStdin === true);
  const [p, link] = await Promise.all([ctx.deps.primitives(), ctx.link({ receive: "off", persistent: false })]);
  try {
    await changePassword(await link.connectionNow(), home, p, passwords);
  } finally {
    await link.close();
  }
  ctx.printer.result(`password changed for ${me.username}: other sessions have ended`, { username: me.username, status: "password changed" });
}
