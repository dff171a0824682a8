import { Command, CommanderError, Option } from "commander";
import type { CliDeps, GlobalOptions } from "./context.ts";
import type { Invocation } from "./invocation.ts";
import { EXIT } from "./exit-codes.ts";
import cliPackage from "../package.json" with { type: "json" };

export type { CliDeps } from "./context.ts";

/**
 * Builds the `natter` command. Everything past argument parsing is imported when a
 * command runs, so `natter --help` loads neither the protocol nor any crypto. Failures are
 * thrown (commander's `exitOverride`), and `runCli` turns them into one line and an exit code.
 */
export function createProgram(deps: CliDeps): Command {
  const program = new Command("natter");
  const invocations: Invocation[] = [];
  const ctx = async (cmd: Command): Promise<Invocation> => {
    const { Invocation } = await import("./invocation.ts");
    const invocation = new Invocation(deps, cmd.optsWithGlobals<GlobalOptions>());
    invocations.push(invocation);
    return invocation;
  };
  program.hook("postAction", async () => {
    for (const invocation of invocations.splice(0)) await invocation.close();
  });

  program
    .description("end-to-end encrypted messaging: with no command, the full-screen app on a terminal (the line shell otherwise)")
    .addOption(new Option("--server <host:port,...>", "edges to connect to, tls://host:port for TLS (env NATTER_SERVER; default 127.0.0.1:7400)"))
    .addOption(new Option("--ca <file>", "trust TLS edges whose certificate chains to this CA (PEM; env NATTER_CA; default the system's CAs)"))
    .addOption(new Option("--home <dir>", "where keys and the session are kept (env NATTER_HOME; default ~/.natter)"))
    .addOption(new Option("--download-dir <dir>", "where received files are saved (default <home>/downloads)"))
    .option("--json", "machine-readable output: one JSON object a line")
    .version(cliPackage.version, "-V, --version", "print natter's version")
    .exitOverride()
    .configureOutput({
      writeOut: (s) => deps.stdout.write(s),
      writeErr: (s) => deps.stderr.write(s),
      // runCli prints usage errors itself, in the output mode asked for.
      outputError: () => undefined,
    })
    .allowExcessArguments(true)
    .action(async (_opts, cmd: Command) => {
      if (cmd.args.length > 0) {
        const { CliError } = await import("./errors.ts");
        throw new CliError("USAGE", `unknown command '${cmd.args[0]}' (see natter --help)`);
      }
      const opts = cmd.optsWithGlobals<GlobalOptions>();
      if (deps.stdin.isTTY === true && deps.stdout.isTTY === true && opts.json !== true) {
        const { appCommand } = await import("./commands/app.ts");
        return appCommand(await ctx(cmd));
      }
      const { shellCommand } = await import("./commands/shell.ts");
      await shellCommand(await ctx(cmd));
    });

  program
    .command("shell")
    .description("the line shell: type commands, see messages as they arrive (what runs with no command when input is not a terminal)")
    .action(async (_opts, cmd: Command) => {
      const { shellCommand } = await import("./commands/shell.ts");
      await shellCommand(await ctx(cmd));
    });

  program
    .command("register")
    .description(
      "create an account and log this home in. The password (8 to 1024 bytes) never leaves this machine: " +
        "it is stretched (Argon2id, m=64 MiB, t=3, p=1) into a login secret for the server and a key that seals your key backup",
    )
    .argument("<username>")
    .option("--password-stdin", "read the password from standard input")
    .action(async (username: string, opts: { passwordStdin?: boolean }, cmd: Command) => {
      const { registerCommand } = await import("./commands/register.ts");
      await registerCommand(await ctx(cmd), username, opts);
    });

  program
    .command("login")
    .description("log this home in (restores the keys from the backup on a new home); only a secret derived from the password is sent")
    .argument("<username>")
    .option("--password-stdin", "read the password from standard input")
    .option("--takeover", "end the account's session elsewhere")
    .action(async (username: string, opts: { passwordStdin?: boolean; takeover?: boolean }, cmd: Command) => {
      const { loginCommand } = await import("./commands/login.ts");
      await loginCommand(await ctx(cmd), username, opts);
    });

  program
    .command("passwd")
    .description("change the password: the key backup is sealed again under it and other sessions end")
    .option("--password-stdin", "read the current password, then the new one, from the first two lines of standard input")
    .action(async (opts: { passwordStdin?: boolean }, cmd: Command) => {
      const { passwdCommand } = await import("./commands/passwd.ts");
      await passwdCommand(await ctx(cmd), opts);
    });

  program
    .command("logout")
    .description("end this home's session")
    .action(async (_opts, cmd: Command) => {
      const { logoutCommand } = await import("./commands/logout.ts");
      await logoutCommand(await ctx(cmd));
    });

  program
    .command("send")
    .description("send a text message, or a file of any kind with --file")
    .argument("<user>")
    .argument("[text...]")
    .option("--file <path>", "send this file (up to 100 MiB)")
    .option("--name <shown name>", "the file's name as the receiver sees it")
    .action(async (user: string, text: string[], opts: { file?: string; name?: string }, cmd: Command) => {
      const { sendCommand } = await import("./commands/send.ts");
      await sendCommand(await ctx(cmd), user, text, opts);
    });

  const group = program.command("group").description("groups: create, join, list, members, add, remove, leave, admin, close, send");
  const groupAction = (op: import("./commands/group.ts").GroupOp) => async (args: import("./commands/group.ts").GroupArgs, cmd: Command) => {
    const { groupCommand } = await import("./commands/group.ts");
    await groupCommand(await ctx(cmd), op, args);
  };
  group
    .command("create")
    .description("create a group (you become its admin) with these members")
    .argument("<name>")
    .argument("[members...]")
    .action((name: string, members: string[], _o, cmd: Command) => groupAction("create")({ name, members }, cmd));
  group
    .command("join")
    .description("join an open group (a group nobody has made yet is created)")
    .argument("<name>")
    .action((name: string, _o, cmd: Command) => groupAction("join")({ name }, cmd));
  group
    .command("list")
    .description("every group and how many members it has")
    .action((_o, cmd: Command) => groupAction("list")({}, cmd));
  group
    .command("members")
    .description("who is in a group you belong to")
    .argument("<name>")
    .action((name: string, _o, cmd: Command) => groupAction("members")({ name }, cmd));
  for (const [op, what] of [["add", "add a member (admins only)"], ["remove", "remove a member (admins only)"], ["admin", "make a member an admin (admins only)"]] as const) {
    group
      .command(op)
      .description(what)
      .argument("<name>")
      .argument("<user>")
      .action((name: string, user: string, _o, cmd: Command) => groupAction(op)({ name, user }, cmd));
  }
  group
    .command("leave")
    .description("leave a group")
    .argument("<name>")
    .action((name: string, _o, cmd: Command) => groupAction("leave")({ name }, cmd));
  group
    .command("close")
    .description("close a group: from now on only admins let people in")
    .argument("<name>")
    .action((name: string, _o, cmd: Command) => groupAction("close")({ name }, cmd));
  group
    .command("send")
    .description("send a text message, or a file with --file, to a group")
    .argument("<name>")
    .argument("[text...]")
    .option("--file <path>", "send this file (up to 100 MiB)")
    .option("--name <shown name>", "the file's name as the members see it")
    .action((name: string, text: string[], opts: { file?: string; name?: string }, cmd: Command) => {
      return groupAction("send")({ name, text, ...(opts.file === undefined ? {} : { file: opts.file }), ...(opts.name === undefined ? {} : { shownName: opts.name }) }, cmd);
    });

  program
    .command("who")
    .description("who is online now (with --last-hour: also who was, within the hour)")
    .option("--last-hour", "also those seen within the last hour")
    .action(async (opts: { lastHour?: boolean }, cmd: Command) => {
      const { whoCommand } = await import("./commands/who.ts");
      await whoCommand(await ctx(cmd), opts);
    });

  for (const [verb, what] of [["block", "stop a user's messages reaching you and hide each of you from the other"], ["unblock", "undo a block"]] as const) {
    program
      .command(verb)
      .description(what)
      .argument("<user>")
      .action(async (user: string, _opts, cmd: Command) => {
        const { blockCommand } = await import("./commands/block.ts");
        await blockCommand(await ctx(cmd), user, verb === "block");
      });
  }

  program
    .command("broadcast")
    .description("send a text message to everyone online now")
    .argument("<text...>")
    .action(async (text: string[], _opts, cmd: Command) => {
      const { broadcastCommand } = await import("./commands/broadcast.ts");
      await broadcastCommand(await ctx(cmd), text);
    });

  const profile = program.command("profile").description("your profile (name, status, avatar), end-to-end encrypted: set, show");
  profile
    .command("set")
    .description("change your profile (what is not given stays; an empty value clears it)")
    .option("--name <name>", "the name contacts see")
    .option("--status <status>", "a line about you")
    .option("--avatar <image>", "a PNG, JPEG, GIF or WebP picture, at most 5 MiB")
    .action(async (opts: import("./commands/profile.ts").ProfileChanges, cmd: Command) => {
      const { profileSetCommand } = await import("./commands/profile.ts");
      await profileSetCommand(await ctx(cmd), opts);
    });
  profile
    .command("show")
    .description("show a user's profile (yours without a user); the avatar is saved in the download folder")
    .argument("[user]")
    .action(async (user: string | undefined, _opts, cmd: Command) => {
      const { profileShowCommand } = await import("./commands/profile.ts");
      await profileShowCommand(await ctx(cmd), user);
    });

  program
    .command("receive")
    .description("show what is waiting, then wait for more")
    .option("--wait <seconds>", "stop after this many seconds with nothing new", "2")
    .action(async (opts: { wait?: string }, cmd: Command) => {
      const { receiveCommand } = await import("./commands/receive.ts");
      await receiveCommand(await ctx(cmd), opts);
    });

  program
    .command("listen")
    .description("show messages as they arrive, until interrupted")
    .action(async (_opts, cmd: Command) => {
      const { listenCommand } = await import("./commands/listen.ts");
      await listenCommand(await ctx(cmd));
    });

  program
    .command("daemon")
    .description("hold this home's connection and serve JSON-RPC 2.0 to scripts and bots on <home>/daemon.sock (see docs/JSON-RPC.md)")
    .option("--stdio", "also serve on standard input and output (one JSON message a line); ends when input ends")
    .action(async (opts: { stdio?: boolean }, cmd: Command) => {
      const { daemonCommand } = await import("./commands/daemon.ts");
      await daemonCommand(await ctx(cmd), opts);
    });

  const sessions = program
    .command("sessions")
    .description("this account's sessions: where each started and when it was last seen")
    .action(async (_opts, cmd: Command) => {
      const { sessionsCommand } = await import("./commands/sessions.ts");
      await sessionsCommand(await ctx(cmd));
    });
  sessions
    .command("revoke")
    .description("end a session (its device must log in again), or with --others every one but this home's")
    .argument("[id]")
    .option("--others", "every session but this home's")
    .action(async (id: string | undefined, opts: { others?: boolean }, cmd: Command) => {
      const { revokeCommand } = await import("./commands/sessions.ts");
      await revokeCommand(await ctx(cmd), id, opts);
    });

  program
    .command("history")
    .description("the messages kept in this home with a user or a #group, oldest first (history never leaves this machine)")
    .argument("<user|#group>")
    .option("--limit <n>", "the last n messages (default 50)")
    .option("--before <time>", "only those kept before this date or time (e.g. 2026-11-23T09:00)")
    .option("--forget", "delete this conversation's history from this home")
    .action(async (who: string, opts: { limit?: string; before?: string; forget?: boolean }, cmd: Command) => {
      const { historyCommand } = await import("./commands/history.ts");
      await historyCommand(await ctx(cmd), who, opts);
    });

  program
    .command("search")
    .description("find kept messages holding every one of these words (or a file of that name), newest first")
    .argument("<words...>")
    .option("--with <user|#group>", "only in this conversation")
    .option("--limit <n>", "at most n messages (default 50)")
    .action(async (words: string[], opts: { with?: string; limit?: string }, cmd: Command) => {
      const { searchCommand } = await import("./commands/history.ts");
      await searchCommand(await ctx(cmd), words, opts);
    });

  program
    .command("config")
    .description("this home's settings: read-receipts on|off (off: yours are not sent and others' are not shown)")
    .argument("[setting]")
    .argument("[value]")
    .action(async (setting: string | undefined, value: string | undefined, _opts, cmd: Command) => {
      const { configCommand } = await import("./commands/config.ts");
      await configCommand(await ctx(cmd), setting, value);
    });

  program
    .command("verify")
    .description("show the safety number with a user and its state (unverified, verified, changed), to compare in person")
    .argument("<user>")
    .option("--mark-verified", "record that you compared the safety number and it matched")
    .action(async (user: string, opts: { markVerified?: boolean }, cmd: Command) => {
      const { verifyCommand } = await import("./commands/verify.ts");
      await verifyCommand(await ctx(cmd), user, opts);
    });

  program
    .command("trust")
    .description("accept a contact's changed identity key after comparing safety numbers; sending to them works again")
    .argument("<user>")
    .action(async (user: string, _opts, cmd: Command) => {
      const { trustCommand } = await import("./commands/trust.ts");
      await trustCommand(await ctx(cmd), user);
    });

  program.addHelpText(
    "after",
    [
      "",
      "Groups and files:",
      "  natter group create <name> [members...]    natter group join <name>",
      "  natter group list                          natter group members <name>",
      "  natter group add <name> <user>             natter group remove <name> <user>",
      "  natter group leave <name>                  natter group admin <name> <user>",
      "  natter group close <name>                  natter group send <name> <text...>",
      "  natter send <user> --file <path> [--name <shown name>]",
      "  natter group send <name> --file <path> [--name <shown name>]",
      "",
      "People:",
      "  natter who [--last-hour]                   natter broadcast <text...>",
      "  natter block <user>                        natter unblock <user>",
      "  natter profile set [--name <n>] [--status <s>] [--avatar <image>]",
      "  natter profile show [user]",
      "",
      "Sessions:",
      "  natter sessions                            natter sessions revoke <id> | --others",
      "",
      "History and receipts:",
      "  natter history <user|#group> [--limit n] [--before <time>]   natter history --forget <user|#group>",
      "  natter search <words...> [--with <user|#group>]",
      "  natter config read-receipts on|off",
      "",
      "Trust:",
      "  natter verify <user> [--mark-verified]     the safety number with <user>; record that it matched",
      "  natter trust <user>                        accept <user>'s changed identity key after comparing numbers",
      "  Contacts are pinned (id, name, identity key) at first contact; after a key change nothing",
      "  is sent to them (exit 1, IDENTITY_CHANGED) until `natter trust`.",
      "",
      "TLS: --server tls://host:port checks the edge's certificate against the system's CAs, or --ca <file>.",
    ].join("\n"),
  );

  return program;
}

/** Runs `natter` with `argv` (without node and script) and returns the exit code. */
export async function runCli(deps: CliDeps, argv: readonly string[]): Promise<number> {
  try {
    await createProgram(deps).parseAsync([...argv], { from: "user" });
    return EXIT.OK;
  } catch (err) {
    if (err instanceof CommanderError && ["commander.helpDisplayed", "commander.version"].includes(err.code)) return EXIT.OK;
    // Help shown because a command was incomplete (`natter group`): a usage error.
    if (err instanceof CommanderError && err.code === "commander.help") return err.exitCode === 0 ? EXIT.OK : EXIT.REFUSED;
    const [{ Invocation }, { CliError, exitCodeFor, toCliError }] = await Promise.all([import("./invocation.ts"), import("./errors.ts")]);
    const printer = new Invocation(deps, { json: argv.includes("--json") }).printer;
    const e = err instanceof CommanderError ? new CliError("USAGE", err.message.replace(/^error: /, "")) : toCliError(err);
    printer.error(e);
    return err instanceof CommanderError ? EXIT.REFUSED : exitCodeFor(e.code);
  }
}
