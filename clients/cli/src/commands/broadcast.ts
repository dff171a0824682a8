import type { Invocation } from "../invocation.ts";
import { CliError, EXIT, exitCodeFor, toCliError } from "../errors.ts";
import type { Link } from "../transport/link.ts";
import type { Messenger } from "../messaging/messenger.ts";
import { whoIsOnline } from "./who.ts";

/** `natter broadcast <text...>`: the text to everyone online now. */
export async function broadcastCommand(ctx: Invocation, words: string[]): Promise<void> {
  const link = await ctx.link({ receive: "off", persistent: false });
  try {
    await broadcastAction(ctx, link, await ctx.messenger(() => link), words.join(" "));
  } finally {
    await link.close();
  }
}

/**
 * Sends `text` to every user online now, each as an ordinary end-to-end encrypted 1:1
 * message. The server already leaves out of `who` anyone who blocked me or whom I
 * blocked; my own block list is checked again. One recipient who cannot be reached (gone
 * meanwhile) is reported and skipped; a lost connection ends the broadcast.
 */
export async function broadcastAction(ctx: Invocation, link: Link, messenger: Messenger, text: string): Promise<void> {
  if (text.trim() === "") throw new CliError("USAGE", "broadcast <text…>");
  const [online, blocks] = await Promise.all([whoIsOnline(link, false), ctx.home().then((h) => h.readBlocks())]);
  let reached = 0;
  for (const u of online) {
    if (!u.online || u.userId in blocks) continue;
    try {
      await messenger.send(u.username, text);
      reached++;
    } catch (err) {
      const e = toCliError(err);
      if (exitCodeFor(e.code) !== EXIT.REFUSED) throw e;
      ctx.printer.status(`not sent to ${u.username}: ${e.message}`);
    }
  }
  ctx.printer.result(`sent to ${reached} ${reached === 1 ? "user" : "users"} online`, { status: "broadcast", recipients: reached });
}
