import type { GroupView } from "@natter/protocol";
import type { Invocation } from "../invocation.ts";
import { CliError } from "../errors.ts";
import type { Link } from "../transport/link.ts";
import type { GroupChanged, VerifiedGroup } from "../messaging/group-chains.ts";
import type { Messenger } from "../messaging/messenger.ts";
import { parseGroupName } from "../messaging/names.ts";
import { sendFile } from "./send.ts";

export type GroupOp = "create" | "join" | "list" | "members" | "add" | "remove" | "leave" | "admin" | "close" | "send";

/** What one `group …` command was given. */
export interface GroupArgs {
  name?: string;
  user?: string;
  members?: string[];
  text?: string[];
  file?: string;
  shownName?: string;
}

/** `natter group <op> …`: one connection, one group action. */
export async function groupCommand(ctx: Invocation, op: GroupOp, args: GroupArgs): Promise<void> {
  const link = await ctx.link({ receive: "off", persistent: false });
  try {
    const messenger = await ctx.messenger(() => link);
    await groupAction(ctx, link, messenger, op, args, false);
  } finally {
    await link.close();
  }
}

/** Runs a group action over an open link (the one-shot command and the shell). */
export async function groupAction(ctx: Invocation, link: Link, messenger: Messenger, op: GroupOp, args: GroupArgs, inShell: boolean): Promise<void> {
  const { printer } = ctx;
  if (op === "list") {
    const { groups } = await link.call({ t: "groups" }, "groups");
    if (printer.json) {
      for (const g of groups) printer.result("", { name: g.name, members: g.members });
    } else if (groups.length === 0) {
      printer.result("no groups yet: natter group create <name> [members…]", {});
    } else {
      for (const g of groups) printer.result(`#${g.name}  ${g.members} member${g.members === 1 ? "" : "s"}${g.closed ? "  (closed)" : ""}`, {});
    }
    return;
  }
  const name = parseGroupName(need(args.name, `group ${op} <name>`));
  switch (op) {
    case "create": {
      const group = verifiedView(await messenger.changeGroup("create", name, { members: args.members ?? [] }));
      return shown(ctx, group, "created", `created #${group.name} with ${names(group)}`);
    }
    case "join": {
      const group = verifiedView(await messenger.changeGroup("join", name));
      // Joining a group nobody had made yet makes it, with the joiner as its admin.
      const created = group.members.length === 1;
      return shown(ctx, group, created ? "created" : "joined", `${created ? "created" : "joined"} #${group.name}: ${names(group)}`);
    }
    case "members": {
      // The members its signed changes make, not the server's word (it is warned of when it differs).
      const group = viewOf(await messenger.groupMembers(name));
      const members = group.members;
      if (printer.json) for (const m of members) printer.result("", { name: m.username, role: m.role });
      else printer.result([`#${group.name}${group.closed ? " (closed)" : ""}:`, ...members.map((m) => `  ${m.username}${m.role === "admin" ? " (admin)" : ""}`)].join("\n"), {});
      return;
    }
    case "add":
    case "remove":
    case "admin": {
      const user = need(args.user, `group ${op} <name> <user>`);
      const { view: group } = await messenger.changeGroup(op, name, { user });
      if (op === "remove") await messenger.membershipChanged(group, "removed");
      const sentence = op === "add" ? `added ${user} to #${group.name}` : op === "remove" ? `removed ${user} from #${group.name}` : `${user} is now an admin of #${group.name}`;
      printer.result(sentence, { group: group.name, user, status: op === "admin" ? "admin" : op === "add" ? "added" : "removed" });
      return;
    }
    case "leave": {
      const { view: group } = await messenger.changeGroup("leave", name);
      await messenger.membershipChanged(group, "left");
      printer.result(`left #${group.name}`, { group: group.name, status: "left" });
      return;
    }
    case "close": {
      const { view: group } = await messenger.changeGroup("close", name);
      printer.result(`closed #${group.name}: only admins can let people in now`, { group: group.name, status: "closed" });
      return;
    }
    case "send": {
      if (args.file !== undefined) {
        if ((args.text ?? []).length > 0) throw new CliError("USAGE", "send a file or a text, not both");
        await sendFile(ctx, link, messenger, { group: name }, args.file, args.shownName, inShell);
        return;
      }
      const text = (args.text ?? []).join(" ");
      if (text.trim() === "") throw new CliError("USAGE", "group send <name> <text…> (or --file <path>)");
      const sent = await messenger.sendGroup(name, { type: "text", text, sentAt: ctx.deps.now() });
      printer.groupSent(sent, inShell);
      return;
    }
  }
}

/** The group as its verified chain makes it (the server's answer only when there is no chain to show, after leaving). */
function verifiedView(changed: GroupChanged): GroupView {
  return changed.verified ? viewOf(changed.verified) : changed.view;
}

function viewOf(v: VerifiedGroup): GroupView {
  return {
    id: v.id, name: v.name, closed: !v.state.open,
    members: v.state.members.map((m) => ({ userId: m.userId, username: m.username, role: m.admin ? "admin" : "member" })),
  };
}

function shown(ctx: Invocation, group: GroupView, status: string, sentence: string): void {
  ctx.printer.result(sentence, { group: group.name, id: group.id, status, members: group.members.map((m) => m.username) });
}

function names(group: GroupView): string {
  return group.members.map((m) => `${m.username}${m.role === "admin" ? " (admin)" : ""}`).join(", ");
}

function need(value: string | undefined, usage: string): string {
  if (value === undefined || value === "") throw new CliError("USAGE", usage);
  return value;
}
