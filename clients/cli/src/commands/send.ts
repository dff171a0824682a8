import { resolve } from "node:path";
import type { Invocation } from "../invocation.ts";
import { CliError } from "../errors.ts";
import type { Link } from "../transport/link.ts";
import type { Messenger } from "../messaging/messenger.ts";

/** `natter send <user> <text...>` or `natter send <user> --file <path>`: one encrypted message or file. */
export async function sendCommand(ctx: Invocation, user: string, words: string[], opts: { file?: string; name?: string } = {}): Promise<void> {
  if (opts.file === undefined && words.join(" ").trim() === "") throw new CliError("USAGE", "send <user> <text…> (or --file <path>)");
  if (opts.file !== undefined && words.length > 0) throw new CliError("USAGE", "send a file or a text, not both");
  // A file too large is refused before anything connects.
  const file = opts.file === undefined ? undefined : await (await import("../files.ts")).localFile(opts.file, opts.name);
  const link = await ctx.link({ receive: "off", persistent: false });
  try {
    const messenger = await ctx.messenger(() => link);
    if (file) {
      await sendFile(ctx, link, messenger, { user }, file.path, opts.name, false);
    } else {
      ctx.printer.sent(await messenger.send(user, words.join(" ")), false);
    }
  } finally {
    await link.close();
  }
}

/**
 * Sends a file to a user or a group: checked against the limits first (FILE_TOO_LARGE
 * before anything is uploaded), encrypted and uploaded as a stream, then announced in an
 * encrypted message that carries its key.
 */
export async function sendFile(
  ctx: Invocation,
  link: Link,
  messenger: Messenger,
  to: { user: string } | { group: string },
  path: string,
  shownName: string | undefined,
  inShell: boolean,
): Promise<void> {
  const [{ localFile, uploadFile }, p, progress] = await Promise.all([import("../files.ts"), ctx.deps.primitives(), ctx.progress()]);
  const file = await localFile(path, shownName);
  // Whoever it is for must exist (and a group must have me) before the upload, not after.
  if ("user" in to) {
    const them = await link.call({ t: "user", user: to.user }, "user");
    const me = (await (await ctx.home()).readAccount())?.userId;
    if (them.userId === me) throw new CliError("SELF");
  } else {
    await link.call({ t: "group", op: "members", name: to.group }, "members");
  }
  const ref = await uploadFile(p, () => link.connectionNow(), file, progress);
  const content = { type: "file", file: ref, sentAt: ctx.deps.now() } as const;
  if ("user" in to) {
    const sent = await messenger.sendPayload(to.user, content, resolve(file.path));
    if (ctx.printer.json) ctx.printer.result("", { id: sent.id, to: sent.to, status: "accepted", file: { name: ref.name, size: ref.size, mime: ref.mime } });
    else ctx.printer.sent(sent, inShell);
  } else {
    const sent = await messenger.sendGroup(to.group, content, resolve(file.path));
    if (ctx.printer.json) ctx.printer.result("", { id: sent.id, group: sent.group, status: "accepted", file: { name: ref.name, size: ref.size, mime: ref.mime } });
    else ctx.printer.groupSent(sent, inShell);
  }
}
