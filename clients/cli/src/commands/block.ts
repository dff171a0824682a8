import { Name } from "@natter/protocol";
import type { Invocation } from "../invocation.ts";
import { CliError } from "../errors.ts";
import type { Link } from "../transport/link.ts";

/** `natter block <user>` / `natter unblock <user>`. */
export async function blockCommand(ctx: Invocation, user: string, blocking: boolean): Promise<void> {
  const link = await ctx.link({ receive: "off", persistent: false });
  try {
    await blockAction(ctx, link, user, blocking);
  } finally {
    await link.close();
  }
}

/**
 * Blocks or unblocks a user on the server (which then stores none of their messages to me
 * and hides each of us from the other's `who` and profile) and in this home's list, which
 * hides their group messages here.
 */
export async function blockAction(ctx: Invocation, link: Link, user: string, blocking: boolean): Promise<void> {
  const name = Name.safeParse(user);
  if (!name.success) throw new CliError("INVALID_USERNAME");
  const them = await link.call({ t: "user", user: name.data }, "user");
  await link.call({ t: blocking ? "block" : "unblock", user: them.username }, "ok");
  const home = await ctx.home();
  await home.withLock(async () => {
    const blocks = await home.readBlocks();
    if (blocking) blocks[them.userId] = them.username;
    else delete blocks[them.userId];
    await home.writeBlocks(blocks);
  });
  ctx.printer.result(
    blocking
      ? `blocked ${them.username}: their messages will not reach you, and neither of you sees the other online`
      : `unblocked ${them.username}`,
    { user: them.username, status: blocking ? "blocked" : "unblocked" },
  );
}
