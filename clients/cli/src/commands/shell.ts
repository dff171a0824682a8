import { clearLine, createInterface, cursorTo } from "node:readline";
import { parseArgs } from "node:util";
import type { Invocation } from "../invocation.ts";
import { CliError, EXIT, exitCodeFor } from "../errors.ts";
import type { Link } from "../transport/link.ts";
import type { Messenger } from "../messaging/messenger.ts";
import { Receiver } from "../receiver.ts";
import { blockAction } from "./block.ts";
import { broadcastAction } from "./broadcast.ts";
import { groupAction } from "./group.ts";
import { historyCommand, searchCommand } from "./history.ts";
import { profileSet, profileShow } from "./profile.ts";
import { interrupted } from "./receive.ts";
import { sendFile } from "./send.ts";
import { trustAction } from "./trust.ts";
import { verifyAction } from "./verify.ts";
import { whoAction } from "./who.ts";

const HELP = [
  "send <user> <text…>            send a message (also: SEND, message)",
  "sendfile <user> <path>         send a file (also: SENDFILE)",
  "group create <name> [users…]   create a group (also: CREATE)",
  "group join <name>              join a group, or create it (also: JOIN)",
  "group list                     every group (also: LIST)",
  "group members <name>           who is in a group",
  "group add|remove|admin <name> <user>, group leave|close <name>",
  "group send <name> <text…>      send to a group (also: SENDGROUP)",
  "group sendfile <name> <path>   send a file to a group (also: SENDGROUPFILE)",
  "who                            who is online now (also: whoelse)",
  "who --last-hour                also who was, within the hour (also: wholasthr)",
  "broadcast <text…>              send to everyone online now",
  "block <user>, unblock <user>   stop (or allow again) a user's messages and presence",
  "profile set [--name \"…\"] [--status \"…\"] [--avatar <image>]   change your profile",
  "profile show [user]            a user's profile (yours without a user)",
  "verify <user> [--mark-verified]  the safety number with <user> and its state; record that it matched",
  "trust <user>                   accept <user>'s changed identity key after comparing safety numbers",
  "history <user|#group> [n]      the last n (default 50) messages kept with them, and how far yours got",
  "search <words…>                kept messages holding every word",
  "logout                         end this session and leave",
  "help                           this list",
  "quit, exit, Ctrl-D             leave (the session stays logged in)",
].join("\n");

/** The words the seeds used, mapped to today's commands. */
const ALIASES: Readonly<Record<string, string>> = {
  send: "send", SEND: "send", message: "send", verify: "verify", trust: "trust", logout: "logout", help: "help", quit: "quit", exit: "quit",
  sendfile: "sendfile", SENDFILE: "sendfile", group: "group",
  CREATE: "create", JOIN: "join", LIST: "list", SENDGROUP: "sendgroup", SENDGROUPFILE: "sendgroupfile",
  create: "create", join: "join", list: "list", sendgroup: "sendgroup", sendgroupfile: "sendgroupfile",
  history: "history", search: "search",
  who: "who", whoelse: "who", wholasthr: "wholasthr", broadcast: "broadcast", block: "block", unblock: "unblock", profile: "profile",
};

/**
 * `natter` with no subcommand: a prompt that sends, and shows messages as they arrive
 * (above the prompt) unless another process of this home already receives them.
 */
export async function shellCommand(ctx: Invocation): Promise<void> {
  const { stdin, stdout } = ctx.deps;
  const terminal = stdout.isTTY === true && stdin.isTTY === true;
  const rl = createInterface({ input: stdin, output: stdout, terminal, prompt: "natter> " });
  let closed = false;
  rl.on("close", () => (closed = true));
  // Scripts piping commands in get no prompts, only results.
  const prompt = (keepCursor = false): void => {
    if (terminal && !closed) rl.prompt(keepCursor);
  };
  const show = (line: string): void => {
    if (terminal && !closed) {
      clearLine(stdout, 0);
      cursorTo(stdout, 0);
      stdout.write(`${line}\n`);
      prompt(true);
    } else {
      stdout.write(`${line}\n`);
    }
  };
  ctx.printer.setOut(show);

  // Lines typed (or piped) while connecting wait for the link rather than get lost.
  let link: Link | undefined;
  let messenger: Messenger | undefined;
  let receiver: Receiver | undefined;
  let connected!: () => void;
  let queue = new Promise<void>((resolve) => (connected = resolve));
  let leave!: () => void;
  const left = new Promise<void>((resolve) => (leave = resolve));
  rl.on("close", () => leave());
  rl.on("SIGINT", () => rl.close());
  rl.on("line", (line) => {
    queue = queue.then(async () => {
      if (!link || !messenger) return;
      try {
        if ((await runLine(ctx, link, messenger, line, show)) === "quit") return rl.close();
      } catch (err) {
        ctx.printer.error(err);
        if (err instanceof CliError && exitCodeFor(err.code) === EXIT.AUTH) return rl.close();
      }
      prompt();
    });
  });
  try {
    messenger = await ctx.messenger(() => link!);
    receiver = new Receiver(messenger, ctx.printer, () => link!, await ctx.downloader(() => link!), await ctx.keeping());
    link = await ctx.link({
      receive: "optional",
      persistent: true,
      onDeliver: receiver.push,
      onStatus: (s) => show(s === "reconnecting" ? "reconnecting…" : "back online"),
      onReceiveRefused: () => show("another natter of this home is receiving messages: they show there; you can still send here"),
    });
  } catch (err) {
    rl.close();
    connected();
    throw err;
  }
  if (!ctx.printer.json) show(`connected as ${(await (await ctx.home()).readAccount())?.username ?? "?"}: type help for commands`);
  connected();
  prompt();
  try {
    await Promise.race([left, link.done, interrupted(ctx.deps.interrupt)]);
    await queue;
    // Deliveries already being handled finish (and are acked) before the shell goes.
    await receiver.idle();
  } finally {
    rl.close();
    await link.close();
  }
  await link.done;
}

/** `group <op> <name> <rest>` in the shell; `rest` is the user, the members, the text or the path. */
async function groupLine(ctx: Invocation, link: Link, messenger: Messenger, op: string, name: string | undefined, rest: string | undefined): Promise<void> {
  const words = (rest ?? "").trim().split(/\s+/).filter((w) => w !== "");
  const args = { ...(name === undefined ? {} : { name }) };
  switch (op) {
    case "create":
      return groupAction(ctx, link, messenger, "create", { ...args, members: words }, true);
    case "add":
    case "remove":
    case "admin":
      return groupAction(ctx, link, messenger, op, { ...args, ...(words[0] === undefined ? {} : { user: words[0] }) }, true);
    case "join":
    case "list":
    case "members":
    case "leave":
    case "close":
      return groupAction(ctx, link, messenger, op, args, true);
    case "send":
      return groupAction(ctx, link, messenger, "send", { ...args, text: [(rest ?? "").trim()].filter((t) => t !== "") }, true);
    case "sendfile": {
      const path = (rest ?? "").trim();
      if (path === "") throw new CliError("USAGE", "group sendfile <name> <path>");
      return groupAction(ctx, link, messenger, "send", { ...args, file: path }, true);
    }
    default:
      throw new CliError("USAGE", `unknown group command ${op}: type help for the list`);
  }
}

/** `profile set --name "Ann E" --status … --avatar <path>` or `profile show [user]` in the shell. */
async function profileLine(ctx: Invocation, link: Link, messenger: Messenger, sub: string | undefined, rest: string | undefined): Promise<void> {
  const words = shellWords(rest ?? "");
  if (sub === "show" && words.length <= 1) return profileShow(ctx, link, messenger, words[0]);
  if (sub === "set") {
    let values: { name?: string; status?: string; avatar?: string };
    try {
      ({ values } = parseArgs({ args: words, options: { name: { type: "string" }, status: { type: "string" }, avatar: { type: "string" } }, strict: true, allowPositionals: false }));
    } catch (cause) {
      throw new CliError("USAGE", 'profile set [--name "…"] [--status "…"] [--avatar <image>]', { cause });
    }
    if (values.avatar !== undefined) await (await import("../profile.ts")).avatarFile(values.avatar);
    return profileSet(ctx, link, messenger, values);
  }
  throw new CliError("USAGE", 'profile set [--name "…"] [--status "…"] [--avatar <image>] | profile show [user]');
}

/** Splits a line into words as a shell would, with "double" or 'single' quotes around words that hold spaces. */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  const pattern = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  for (const m of line.matchAll(pattern)) words.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : (m[2] ?? m[3]!));
  return words;
}

/** Runs one shell line (the full-screen app runs its slash commands through it too); "quit" when it asks to leave. */
export async function runLine(ctx: Invocation, link: Link, messenger: Messenger, line: string, show: (l: string) => void): Promise<"quit" | undefined> {
  const match = /^\s*(\S+)(?:\s+(\S+))?(?:\s(.*))?$/.exec(line);
  if (!match) return undefined;
  const [, word, first, rest] = match;
  const command = ALIASES[word!] ?? ALIASES[word!.toLowerCase()];
  switch (command) {
    case "send": {
      const text = rest?.trim() ?? "";
      if (!first || text === "") throw new CliError("USAGE", "send <user> <text…>");
      ctx.printer.sent(await messenger.send(first, text), true);
      return undefined;
    }
    case "verify": {
      const mark = rest?.trim() === "--mark-verified";
      if (!first || (rest !== undefined && rest.trim() !== "" && !mark)) throw new CliError("USAGE", "verify <user> [--mark-verified]");
      await verifyAction(ctx, messenger, first, mark);
      return undefined;
    }
    case "trust":
      if (!first || (rest ?? "").trim() !== "") throw new CliError("USAGE", "trust <user>");
      await trustAction(ctx, messenger, first);
      return undefined;
    case "logout": {
      await link.call({ t: "logout" }, "ok");
      await link.close(); // before the edge hangs up, so the link does not reconnect
      const home = await ctx.home();
      await home.withLock(() => home.clearSession());
      ctx.printer.result("logged out", { status: "logged out" });
      return "quit";
    }
    case "sendfile": {
      const path = rest?.trim() ?? "";
      if (!first || path === "") throw new CliError("USAGE", "sendfile <user> <path>");
      await sendFile(ctx, link, messenger, { user: first }, path, undefined, true);
      return undefined;
    }
    case "group": {
      const sub = /^\s*(\S+)(?:\s+(\S+))?(?:\s(.*))?$/.exec(rest ?? "");
      if (!first) throw new CliError("USAGE", "group create|join|list|members|add|remove|leave|admin|close|send|sendfile …");
      await groupLine(ctx, link, messenger, first.toLowerCase(), sub?.[1], sub?.[2] === undefined ? sub?.[3] : `${sub[2]}${sub[3] === undefined ? "" : ` ${sub[3]}`}`);
      return undefined;
    }
    case "create":
      await groupLine(ctx, link, messenger, "create", first, rest);
      return undefined;
    case "join":
      await groupLine(ctx, link, messenger, "join", first, rest);
      return undefined;
    case "list":
      await groupLine(ctx, link, messenger, "list", first, rest);
      return undefined;
    case "sendgroup":
      await groupLine(ctx, link, messenger, "send", first, rest);
      return undefined;
    case "sendgroupfile":
      await groupLine(ctx, link, messenger, "sendfile", first, rest);
      return undefined;
    case "who":
      await whoAction(ctx, link, first === "--last-hour");
      return undefined;
    case "wholasthr":
      await whoAction(ctx, link, true);
      return undefined;
    case "broadcast":
      await broadcastAction(ctx, link, messenger, [first, rest].filter((w) => w !== undefined).join(" ").trim());
      return undefined;
    case "block":
    case "unblock":
      if (!first) throw new CliError("USAGE", `${command} <user>`);
      await blockAction(ctx, link, first, command === "block");
      return undefined;
    case "profile":
      await profileLine(ctx, link, messenger, first, rest);
      return undefined;
    case "history": {
      const limit = rest?.trim() ?? "";
      if (!first || !/^\d*$/.test(limit)) throw new CliError("USAGE", "history <user|#group> [n]");
      await historyCommand(ctx, first, limit === "" ? {} : { limit });
      return undefined;
    }
    case "search":
      if (!first) throw new CliError("USAGE", "search <words…>");
      await searchCommand(ctx, shellWords([first, rest ?? ""].join(" ")), {});
      return undefined;
    case "help":
      show(HELP);
      return undefined;
    case "quit":
      return "quit";
    default:
      throw new CliError("USAGE", `unknown command ${word}: type help for the list`);
  }
}
