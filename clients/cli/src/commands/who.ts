import type { WhoEntry } from "@natter/protocol";
import type { Invocation } from "../invocation.ts";
import type { Link } from "../transport/link.ts";
import { clock, printable } from "../output.ts";
import { trustState, type TrustState } from "../messaging/trust-state.ts";

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

/**
 * Prints `who` over an open link: a table for people, a line per user in --json; a contact
 * also shows how far I trust them (unverified, verified, changed).
 */
export async function whoAction(ctx: Invocation, link: Link, lastHour: boolean): Promise<void> {
  const users = sortWho(await whoIsOnline(link, lastHour));
  const trust = await contactTrust(ctx);
  const { printer } = ctx;
  if (users.length === 0) {
    if (!printer.json) printer.result(lastHour ? "nobody else was online in the last hour" : "nobody else is online", {});
    return;
  }
  const width = Math.max(...users.map((u) => u.username.length));
  for (const u of users) {
    const state = u.online || u.lastSeen === null ? "online" : `last seen ${clock(u.lastSeen)}`;
    const contact = trust(u.userId, u.username);
    printer.result(`${printable(u.username).padEnd(width)}  ${state}${contact === undefined ? "" : `  (${contact})`}`, {
      user: u.username,
      online: u.online,
      lastSeen: u.online || u.lastSeen === null ? null : new Date(u.lastSeen).toISOString(),
      ...(contact === undefined ? {} : { trust: contact }),
    });
  }
}

/**
 * The trust state of the contact pinned for a user id; a name pinned to another id shows
 * as `changed`, since sending under that name is refused until `natter trust`.
 */
async function contactTrust(ctx: Invocation): Promise<(userId: string, username: string) => TrustState | undefined> {
  const contacts = await (await ctx.home()).readContacts();
  return (userId, username) => {
    const pinned = contacts[userId];
    if (pinned) return trustState(pinned);
    return Object.values(contacts).some((c) => c.username === username) ? "changed" : undefined;
  };
}

/** Online first (by name), then the most recently seen. */
export function sortWho(users: readonly WhoEntry[]): WhoEntry[] {
  return [...users].sort((a, b) => {
    if (a.online !== b.online) return a.online ? -1 : 1;
    if (!a.online && a.lastSeen !== b.lastSeen) return (b.lastSeen ?? 0) - (a.lastSeen ?? 0);
    return a.username.localeCompare(b.username);
  });
}
