import type { WhoEntry } from "@natter/protocol";
import type { Invocation } from "../invocation.ts";
import type { Link } from "../transport/link.ts";
import { clock, printable } from "../output.ts";

/** `natter who [--last-hour]`: who is online now (or was within the hour), myself and blocks left out. */
export async function whoCommand(ctx: Invocation, opts: { lastHour?: boolean }): Promise<void> {
  const link = await ctx.link({ receive: "off", persistent: false });
  try {
    await whoAction(ctx, link, opts.lastHour === true);
  } finally {
    await link.close();
  }
}

/** The users online now (and with `lastHour`, those seen within the hour), as the server says. */
export async function whoIsOnline(link: Link, lastHour: boolean): Promise<WhoEntry[]> {
  const { users } = await link.call({ t: "who", ...(lastHour ? { lastHour } : {}) }, "who");
  return users;
}

/** Prints `who` over an open link: a table for people, a line per user in --json. */
export async function whoAction(ctx: Invocation, link: Link, lastHour: boolean): Promise<void> {
  const users = sortWho(await whoIsOnline(link, lastHour));
  const { printer } = ctx;
  if (users.length === 0) {
    if (!printer.json) printer.result(lastHour ? "nobody else was online in the last hour" : "nobody else is online", {});
    return;
  }
  const width = Math.max(...users.map((u) => u.username.length));
  for (const u of users) {
    const state = u.online || u.lastSeen === null ? "online" : `last seen ${clock(u.lastSeen)}`;
    printer.result(`${printable(u.username).padEnd(width)}  ${state}`, {
      user: u.username,
      online: u.online,
      lastSeen: u.online || u.lastSeen === null ? null : new Date(u.lastSeen).toISOString(),
    });
  }
}

/** Online first (by name), then the most recently seen. */
export function sortWho(users: readonly WhoEntry[]): WhoEntry[] {
  return [...users].sort((a, b) => {
    if (a.online !== b.online) return a.online ? -1 : 1;
    if (!a.online && a.lastSeen !== b.lastSeen) return (b.lastSeen ?? 0) - (a.lastSeen ?? 0);
    return a.username.localeCompare(b.username);
  });
}
