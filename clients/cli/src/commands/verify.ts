import type { Invocation } from "../invocation.ts";

/** `natter verify <user>`: the safety number to compare with the peer's. */
export async function verifyCommand(ctx: Invocation, user: string): Promise<void> {
  const link = await ctx.link({ receive: "off", persistent: false });
  try {
    const messenger = await ctx.messenger(() => link);
    const { user: name, safetyNumber } = await messenger.safetyNumber(user);
    ctx.printer.result(`safety number with ${name}:\n  ${safetyNumber}\ncompare it with the one ${name} sees (natter verify) in person or on a call`, {
      user: name,
      safetyNumber,
    });
  } finally {
    await link.close();
  }
}
