import type { Context } from "../context.ts";

/** `natter send <user> <text...>`: encrypts and sends one text message. */
export async function sendCommand(ctx: Context, user: string, words: string[]): Promise<void> {
  const link = await ctx.link({ receive: "off", persistent: false });
  try {
    const messenger = await ctx.messenger(() => link);
    const sent = await messenger.send(user, words.join(" "));
    ctx.printer.sent(sent, false);
  } finally {
    await link.close();
  }
}
