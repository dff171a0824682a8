import type { Invocation } from "../invocation.ts";
import type { Messenger } from "../messaging/messenger.ts";

/**
 * `natter verify <user> [--mark-verified]`: the safety number with a contact, from the key
 * pinned for them, to compare with theirs; with `--mark-verified`, records that it matched.
 */
export async function verifyCommand(ctx: Invocation, user: string, opts: { markVerified?: boolean } = {}): Promise<void> {
  const link = await ctx.link({ receive: "off", persistent: false });
  try {
    await verifyAction(ctx, await ctx.messenger(() => link), user, opts.markVerified === true);
  } finally {
    await link.close();
  }
}

/** Shows the safety number with `user` (checked against the server's key first) and, asked to, marks it verified. */
export async function verifyAction(ctx: Invocation, messenger: Messenger, user: string, markVerified: boolean): Promise<void> {
  let view = await messenger.safetyNumber(user);
  if (markVerified) {
    await messenger.markVerified(view.user);
    view = { ...view, state: "verified" };
  }
  ctx.printer.safetyNumber(view, markVerified);
}
