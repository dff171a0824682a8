import type { Invocation } from "../invocation.ts";
import { CliError } from "../errors.ts";
import type { Conversation } from "../history.ts";
import { parseGroupName, parseUserName } from "../messaging/names.ts";

const MAX_LIMIT = 10_000;

/** `natter history <user|#group> [--limit n] [--before <time>]`, or `--forget` to delete the conversation. */
export async function historyCommand(ctx: Invocation, who: string, opts: { limit?: string; before?: string; forget?: boolean }): Promise<void> {
  const conversation = parseConversation(who);
  if (opts.forget === true) {
    if (opts.limit !== undefined || opts.before !== undefined) throw new CliError("USAGE", "history --forget <user|#group> takes no --limit or --before");
    const gone = (await ctx.history()).forget(conversation);
    ctx.printer.result(`forgot ${gone} message${gone === 1 ? "" : "s"} with ${conversation}`, { conversation, status: "forgotten", messages: gone });
    return;
  }
  const limit = parseLimit(opts.limit, 50);
  const before = opts.before === undefined ? undefined : parseTime(opts.before);
  const entries = (await ctx.history()).conversation(conversation, { limit, ...(before === undefined ? {} : { before }) });
  if (entries.length === 0 && !ctx.printer.json) ctx.printer.result(`no messages with ${conversation} here`, {});
  for (const e of entries) ctx.printer.historyEntry(e, false);
}

/** `natter search <words…> [--with <user|#group>]`: messages holding every word, newest first. */
export async function searchCommand(ctx: Invocation, words: string[], opts: { with?: string; limit?: string }): Promise<void> {
  const within = opts.with === undefined ? undefined : parseConversation(opts.with);
  const entries = (await ctx.history()).search(words, { limit: parseLimit(opts.limit, 50), ...(within === undefined ? {} : { with: within }) });
  if (entries.length === 0 && !ctx.printer.json) ctx.printer.result("nothing found", {});
  for (const e of entries) ctx.printer.historyEntry(e, true);
}

/** `alice` or `#team`, folded as names are. */
export function parseConversation(who: string): Conversation {
  return who.startsWith("#") ? `#${parseGroupName(who)}` : parseUserName(who);
}

function parseLimit(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > MAX_LIMIT) throw new CliError("USAGE", `--limit takes a whole number from 1 to ${MAX_LIMIT}`);
  return n;
}

/** An ISO 8601 date or time (`2026-11-23`, `2026-11-23T09:00`, `…Z`), as Date understands it. */
function parseTime(text: string): number {
  const ms = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(ms)) throw new CliError("USAGE", "--before takes a date or time such as 2026-11-23 or 2026-11-23T09:00");
  return ms;
}
