import type { Invocation } from "../invocation.ts";
import { CliError } from "../errors.ts";
import type { Link } from "../transport/link.ts";
import { Receiver } from "../receiver.ts";

/** `natter receive [--wait s]`: shows and acks what waits, then what comes until `s` quiet seconds pass. */
export async function receiveCommand(ctx: Invocation, opts: { wait?: string }): Promise<void> {
  const wait = opts.wait === undefined ? 2 : Number(opts.wait);
  if (!Number.isFinite(wait) || wait < 0 || wait > 86_400) throw new CliError("USAGE", "--wait takes a number of seconds");
  let link!: Link;
  const receiver = new Receiver(await ctx.messenger(() => link), ctx.printer, () => link, await ctx.downloader(() => link), await ctx.keeping());
  const quiet = new QuietTimer(wait * 1000);
  receiver.onActivity = () => quiet.reset();
  link = await ctx.link({ receive: "required", persistent: false, onDeliver: receiver.push });
  try {
    quiet.reset();
    await Promise.race([quiet.done, link.done, interrupted(ctx.deps.interrupt)]);
    await receiver.idle();
  } finally {
    quiet.cancel();
    await link.close();
  }
  await link.done;
}

/** Fires once `ms` pass without a reset. */
class QuietTimer {
  readonly done: Promise<void>;
  private timer: NodeJS.Timeout | undefined;
  private fire!: () => void;

  constructor(private readonly ms: number) {
    this.done = new Promise<void>((resolve) => (this.fire = resolve));
  }

  reset(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(this.fire, this.ms);
  }

  cancel(): void {
    clearTimeout(this.timer);
  }
}

export function interrupted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}
