import { z } from "zod";
import type { SessionSummary } from "@natter/protocol";
import type { Invocation } from "../invocation.ts";
import { CliError } from "../errors.ts";
import type { Link } from "../transport/link.ts";
import { clock, printable } from "../output.ts";

/** What `natter sessions revoke` ends: one session by id, or every session but this home's. */
export type RevokeTarget = { session: string } | { others: true };

const SessionId = z.uuid();

/** `natter sessions`: this account's live sessions, where each started and when it was last seen. */
export async function sessionsCommand(ctx: Invocation): Promise<void> {
  const link = await ctx.link({ receive: "off", persistent: false });
  try {
    printSessions(ctx, (await link.call({ t: "sessions" }, "sessions")).sessions);
  } finally {
    await link.close();
  }
}

/** `natter sessions revoke <id> | --others`: ends sessions of this account; their devices must log in again. */
export async function revokeCommand(ctx: Invocation, id: string | undefined, opts: { others?: boolean }): Promise<void> {
  const target = revokeTarget(id, opts.others === true);
  const link = await ctx.link({ receive: "off", persistent: false });
  try {
    await revokeAction(ctx, link, target);
  } finally {
    await link.close();
  }
}

/** Checks the arguments before connecting: exactly one of an id and --others. */
export function revokeTarget(id: string | undefined, others: boolean): RevokeTarget {
  if ((id === undefined) === !others) throw new CliError("USAGE", "give a session id or --others, not both");
  if (others) return { others: true };
  const parsed = SessionId.safeParse(id);
  if (!parsed.success) throw new CliError("USAGE", "a session id is the id `natter sessions` shows");
  return { session: parsed.data };
}

/** Ends the target sessions over an open link and says how many ended. */
export async function revokeAction(ctx: Invocation, link: Link, target: RevokeTarget): Promise<void> {
  const { ended } = await link.call({ t: "revoke", ...target }, "revoked");
  const what = "others" in target ? `ended ${ended} other session${ended === 1 ? "" : "s"}` : "ended the session";
  ctx.printer.result(what, { ended });
}

/** A line a session, oldest first: id, address, started, last seen; this home's marked. */
export function printSessions(ctx: Invocation, sessions: readonly SessionSummary[]): void {
  for (const s of sessions) {
    const where = s.lastAddr && s.lastAddr !== s.addr ? `${s.addr} (last ${s.lastAddr})` : s.addr;
    ctx.printer.result(
      `${s.id}  ${printable(where)}  started ${day(s.startedAt)}  last seen ${day(s.lastSeenAt)}${s.current ? "  (this one)" : ""}`,
      {
        id: s.id, addr: s.addr, lastAddr: s.lastAddr, current: s.current,
        startedAt: new Date(s.startedAt).toISOString(), lastSeenAt: new Date(s.lastSeenAt).toISOString(), expiresAt: new Date(s.expiresAt).toISOString(),
      },
    );
  }
}

/** yyyy-mm-dd hh:mm in local time: sessions last days. */
function day(ms: number): string {
  const d = new Date(ms);
  const date = [d.getFullYear(), d.getMonth() + 1, d.getDate()].map((n) => String(n).padStart(2, "0")).join("-");
  return `${date} ${clock(ms)}`;
}
