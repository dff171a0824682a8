import type { Invocation } from "../invocation.ts";
import { CliError, EXIT, exitCodeFor } from "../errors.ts";

/** `natter logout`: ends the session on the server and forgets its tokens here (keys stay). */
export async function logoutCommand(ctx: Invocation): Promise<void> {
  const home = await ctx.home();
  try {
    const link = await ctx.link({ receive: "off", persistent: false });
    try {
      await link.call({ t: "logout" }, "ok");
    } finally {
      await link.close();
    }
  } catch (err) {
    // A session the server already ended or never knew is as logged out as it gets.
    if (!(err instanceof CliError && exitCodeFor(err.code) === EXIT.AUTH)) throw err;
  }
  await home.withLock(() => home.clearSession());
  ctx.printer.result("logged out", { status: "logged out" });
}
