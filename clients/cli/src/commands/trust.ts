import type { Invocation } from "../invocation.ts";
import type { Messenger } from "../messaging/messenger.ts";

/**
 * `natter trust <user>`: accepts the identity key a contact has changed to, after showing
 * the safety number trusted until now and the new one; sending to them works again.
 */
export async function trustCommand(ctx: Invocation, user: string): Promise<void> {
  // Trust is decided from what this home holds: no server is asked.
  const noServer = (): never => {
    throw new Error("invariant broken: natter trust reached for the server");
  };
  await trustAction(ctx, await ctx.messenger(noServer), user);
}

/** Accepts the change waiting for `user` and prints both safety numbers. */
export async function trustAction(ctx: Invocation, messenger: Messenger, user: string): Promise<void> {
  ctx.printer.trusted(await messenger.trust(user));
}
