import { Writable } from "node:stream";
import type { Conversation, History } from "../history.ts";
import { Invocation } from "../invocation.ts";
import type { ShownEvent, ShownMessage } from "../messaging/incoming.ts";
import type { Messenger } from "../messaging/messenger.ts";
import { Printer, type SavedFile } from "../output.ts";
import { Receiver } from "../receiver.ts";
import type { Link } from "../transport/link.ts";
import { describeError } from "../errors.ts";
import { APP_HELP, parseInput } from "../app/input.ts";
import { totalUnread } from "../app/state.ts";
import { AppStore } from "../app/store.ts";
import type { AppActions } from "../app/view.ts";
import { interrupted } from "./receive.ts";
import { runLine } from "./shell.ts";

/** How many messages of the open conversation are read from history. */
const SHOWN = 200;
const ALT_SCREEN_ON = "\x1b[?1049h";
const ALT_SCREEN_OFF = "\x1b[?1049l";

/**
 * `natter` on a terminal: the full-screen app. It holds the home's connection as the shell
 * does; what the shell would print goes to the app's status line, messages go to their
 * conversations, and read receipts wait until their conversation is open.
 */
export async function appCommand(ctx: Invocation): Promise<void> {
  const [{ render }, { createElement }, { AppView }] = await Promise.all([loadInk(), import("react"), import("../app/view.ts")]);
  const store = new AppStore();
  const terminal = ctx.deps.stdout as NodeJS.WriteStream;
  // Everything this run would write as lines (results, warnings, errors) lands in the status line.
  // A slash command's output is also collected, to be shown whole when it has several lines.
  let collected: string[] | undefined;
  const lines = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      for (const line of String(chunk).split("\n")) {
        if (line.trim() === "") continue;
        collected?.push(line);
        store.dispatch({ t: "status", line });
      }
      done();
    },
  });
  const run = new Invocation({ ...ctx.deps, stdout: lines, stderr: lines }, { ...ctx.options, json: false });

  let link: Link | undefined;
  let leave!: () => void;
  const left = new Promise<void>((resolve) => (leave = resolve));
  let instance: { unmount(): void; waitUntilExit(): Promise<unknown> } | undefined;
  // What the app works with, once opened: until then keys do nothing but /quit.
  let ready: { history: History; messenger: Messenger; reads: HeldReads } | undefined;
  const open = (conversation: Conversation): void => {
    if (!ready) return;
    store.dispatch({ t: "open", conversation });
    showHistory(store, ready.history);
    ready.reads.release(conversation);
  };
  let queue = Promise.resolve();
  const actions: AppActions = {
    open,
    close: () => store.dispatch({ t: "close" }),
    quit: leave,
    line: (text) => {
      queue = queue.then(async () => {
        try {
          const input = parseInput(text, store.get().open);
          if (input.kind === "quit") return leave();
          if (input.kind === "help") return store.dispatch({ t: "panel", lines: APP_HELP.split("\n") });
          if (input.kind === "open") return open(input.conversation);
          if (input.kind === "nothing" || !link || !ready) return;
          collected = text.trim().startsWith("/") ? [] : undefined;
          const shown = (line: string) => run.printer.result(line, {});
          if ((await runLine(run, link, ready.messenger, input.line, shown)) === "quit") return leave();
          if (collected !== undefined && collected.length > 1) store.dispatch({ t: "panel", lines: collected });
          const opened = store.get().open;
          if (opened !== undefined) {
            const last = showHistory(store, ready.history).at(-1);
            if (last?.direction === "out") store.dispatch({ t: "message", conversation: opened, from: "me", text: last.text, at: last.at });
          }
        } catch (err) {
          run.printer.error(err);
          if (describeError(err).code === "NOT_LOGGED_IN") leave();
        } finally {
          collected = undefined;
        }
      });
    },
  };

  try {
    // The app shows first; each step it waits for shows in its status line.
    terminal.write(ALT_SCREEN_ON);
    let unread = 0;
    store.subscribe(() => {
      const now = totalUnread(store.get());
      if (now !== unread) terminal.write(title(now));
      unread = now;
    });
    terminal.write(title(0));
    instance = render(createElement(AppView, { store, actions }), {
      stdout: terminal,
      stdin: ctx.deps.stdin as NodeJS.ReadStream,
      stderr: terminal,
      exitOnCtrlC: false,
      patchConsole: false,
    });
    // /quit or ^C ends the app in any step, connecting included.
    const ended = Promise.race([left, interrupted(ctx.deps.interrupt)]);
    const setup = (async () => {
      store.dispatch({ t: "status", line: "opening this home…" });
      const history = await run.history();
      const messenger = await run.messenger(() => link!);
      const reads = new HeldReads(messenger, store, (err) => run.printer.error(err));
      const receiver = new Receiver(reads.messenger, new AppPrinter(store, history, reads, terminal), () => link!, await run.downloader(() => link!), await run.keeping());
      await knownConversations(store, messenger, history);
      ready = { history, messenger, reads };

      store.dispatch({ t: "status", line: "connecting…" });
      link = await run.link({
        receive: "optional",
        persistent: true,
        onDeliver: receiver.push,
        onStatus: (s) => store.dispatch({ t: "status", line: s === "reconnecting" ? "reconnecting…" : "back online" }),
        onReceiveRefused: () => store.dispatch({ t: "status", line: "another natter of this home is receiving messages: they show there; you can still send here" }),
      });
      store.dispatch({ t: "status", line: `connected as ${(await (await run.home()).readAccount())?.username ?? "?"}: /help for commands` });
      return receiver;
    })();
    setup.catch(() => undefined); // what fails after the app has ended is not reported
    const receiver = await Promise.race([ended.then(() => undefined), setup]);
    if (receiver && link) {
      await Promise.race([ended, link.done]);
      await queue;
      await receiver.idle();
    }
  } finally {
    instance?.unmount();
    await instance?.waitUntilExit().catch(() => undefined);
    if (instance) terminal.write(`${ALT_SCREEN_OFF}${title(0)}`);
    await link?.close();
    await run.close();
  }
  await link?.done;
}

/**
 * Ink draws nothing until it exits when it believes it runs in CI (`CI` or
 * `CONTINUOUS_INTEGRATION` set in the environment, read once as it loads): a blank screen
 * in a terminal whose shell sets them. The app opens only on a terminal, so ink is loaded
 * with them unset.
 */
async function loadInk(): Promise<typeof import("ink")> {
  const hidden = ["CI", "CONTINUOUS_INTEGRATION"].filter((name) => name in process.env).map((name) => [name, process.env[name]] as const);
  for (const [name] of hidden) delete process.env[name];
  try {
    return await import("ink");
  } finally {
    for (const [name, value] of hidden) process.env[name] = value;
  }
}

/** The terminal's title (OSC 0): natter, and how many messages wait unread. */
function title(unread: number): string {
  return `\x1b]0;${unread > 0 ? `natter (${unread})` : "natter"}\x07`;
}

/** Reads the open conversation's last messages from history into the view; answers them. */
function showHistory(store: AppStore, history: History) {
  const open = store.get().open;
  if (open === undefined) return [];
  const entries = history.conversation(open, { limit: SHOWN });
  store.dispatch({ t: "history", conversation: open, entries });
  return entries;
}

/** The list at start: every conversation in history (groups too) with its last message, and the contacts. */
async function knownConversations(store: AppStore, messenger: Messenger, history: History): Promise<void> {
  const contacts = await messenger.contactStates();
  store.start(history.conversations(), contacts.map((c) => c.username));
}

/**
 * Read receipts go when a message is shown in its open conversation, not when it arrives:
 * the receiver's read receipts for a conversation that is not open wait here until it is.
 * The receiver is given a messenger whose `sendReceipt` comes through `send`.
 */
class HeldReads {
  /** The conversation of each message shown, by the id receipts name. */
  readonly conversationOf = new Map<string, Conversation>();
  private readonly held = new Map<Conversation, Array<{ user: string; ids: string[] }>>();
  readonly messenger: Messenger;

  constructor(private readonly real: Messenger, private readonly store: AppStore, private readonly failed: (err: unknown) => void) {
    this.messenger = new Proxy(real, {
      get: (target, prop) => {
        if (prop === "sendReceipt") return this.send;
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  }

  private readonly send = async (user: string, kind: "delivered" | "read", of: string[]): Promise<void> => {
    if (kind === "delivered") return this.real.sendReceipt(user, kind, of);
    const open = this.store.get().open;
    const now: string[] = [];
    for (const id of of) {
      const conversation = this.conversationOf.get(id);
      if (conversation === undefined || conversation === open) now.push(id);
      else this.held.set(conversation, [...(this.held.get(conversation) ?? []), { user, ids: [id] }]);
    }
    if (now.length > 0) await this.real.sendReceipt(user, "read", now);
  };

  /** The conversation is open: its held read receipts go, one per sender. */
  release(conversation: Conversation): void {
    const waiting = this.held.get(conversation);
    this.held.delete(conversation);
    const byUser = new Map<string, string[]>();
    for (const { user, ids } of waiting ?? []) byUser.set(user, [...(byUser.get(user) ?? []), ...ids]);
    for (const [user, ids] of byUser) this.real.sendReceipt(user, "read", ids).catch(this.failed);
  }
}

/** The receiver's printer in the app: messages go to their conversation (with the bell when it is not open). */
class AppPrinter extends Printer {
  constructor(private readonly store: AppStore, private readonly history: History, private readonly reads: HeldReads, private readonly terminal: NodeJS.WritableStream) {
    super((line) => store.dispatch({ t: "status", line }), (line) => store.dispatch({ t: "status", line }), false);
  }

  override message(m: ShownMessage, saved?: SavedFile): void {
    const conversation = m.group === undefined ? m.from : `#${m.group}`;
    this.reads.conversationOf.set(m.sentId ?? m.id, conversation);
    const text = m.content.type === "text" ? m.content.text : `a file: ${saved?.name ?? m.content.file.name}`;
    const from = m.warning === undefined ? m.from : `⚠ ${m.from}`;
    this.store.dispatch({ t: "message", conversation, from, text, at: m.sentAt });
    if (this.store.get().open === conversation) {
      // The receiver keeps it in history right after showing it.
      setImmediate(() => showHistory(this.store, this.history));
    } else {
      this.terminal.write("\x07");
    }
    if (m.warning !== undefined) super.message(m, saved);
  }

  override event(e: ShownEvent): void {
    super.event(e);
    this.store.dispatch({ t: "known", rows: [{ id: `#${e.group}` }] });
  }

  override receipt(r: { from: string; receipt: "delivered" | "read"; conversation: string; of: string[] }): void {
    super.receipt(r);
    if (this.store.get().open === r.conversation) showHistory(this.store, this.history);
  }
}
