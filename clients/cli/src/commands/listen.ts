import type { Invocation } from "../invocation.ts";
import type { Link } from "../transport/link.ts";
import { Receiver } from "../receiver.ts";
import { interrupted } from "./receive.ts";

/** `natter listen`: shows messages as they arrive, reconnecting on its own, until interrupted. */
export async function listenCommand(ctx: Invocation): Promise<void> {
  let link!: Link;
  const receiver = new Receiver(await ctx.messenger(() => link), ctx.printer, () => link, await ctx.downloader(() => link), await ctx.keeping());
  link = await ctx.link({
    receive: "required",
    persistent: true,
    onDeliver: receiver.push,
    onStatus: (s) => ctx.printer.status(s === "reconnecting" ? "reconnecting…" : "back online"),
  });
  ctx.printer.state("listening for messages (Ctrl-C to stop)", { status: "listening" });
  try {
    await Promise.race([link.done, interrupted(ctx.deps.interrupt)]);
    await receiver.idle();
  } finally {
    await link.close();
  }
  await link.done;
}
