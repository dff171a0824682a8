import { clearLine, createInterface, cursorTo } from "node:readline";
import type { Context } from "../context.ts";
import { CliError, EXIT, exitCodeFor } from "../errors.ts";
import type { Link } from "../link.ts";
import type { Messenger } from "../messenger.ts";
import { Receiver } from "../receiver.ts";
import { interrupted } from "./receive.ts";

const HELP = [
  "send <user> <text…>     send a message (also: SEND, message)",
  "verify <user>           show the safety number with <user>",
  "logout                  end this session and leave",
  "help                    this list",
  "quit, exit, Ctrl-D      leave (the session stays logged in)",
].join("\n");

/** The words the seeds used, mapped to today's commands. */
const ALIASES: Readonly<Record<string, string>> = { send: "send", SEND: "send", message: "send", verify: "verify", logout: "logout", help: "help", quit: "quit", exit: "quit" };

/**
 * `natter` with no subcommand: a prompt that sends, and shows messages as they arrive
 * (above the prompt) unless another process of this home already receives them.
 */
export async function shellCommand(ctx: Context): Promise<void> {
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
    const receiver = new Receiver(messenger, ctx.printer, () => link!);
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
  } finally {
    rl.close();
    await link.close();
  }
  await link.done;
}

async function runLine(ctx: Context, link: Link, messenger: Messenger, line: string, show: (l: string) => void): Promise<"quit" | undefined> {
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
      if (!first) throw new CliError("USAGE", "verify <user>");
      const { user, safetyNumber } = await messenger.safetyNumber(first);
      ctx.printer.result(`safety number with ${user}:\n  ${safetyNumber}`, { user, safetyNumber });
      return undefined;
    }
    case "logout": {
      await link.call({ t: "logout" }, "ok");
      await link.close(); // before the edge hangs up, so the link does not reconnect
      const home = await ctx.home();
      await home.withLock(() => home.clearSession());
      ctx.printer.result("logged out", { status: "logged out" });
      return "quit";
    }
    case "help":
      show(HELP);
      return undefined;
    case "quit":
      return "quit";
    default:
      throw new CliError("USAGE", `unknown command ${word}: type help for the list`);
  }
}
