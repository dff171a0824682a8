import { join } from "node:path";
import type { Invocation } from "../invocation.ts";
import type { Link } from "../transport/link.ts";
import { Receiver } from "../receiver.ts";
import { CapturedInvocation, type CapturedStream, type JsonLine } from "../daemon/captured-invocation.ts";
import { Dispatcher, type Connected } from "../daemon/dispatcher.ts";
import { DaemonServer, SOCKET_FILE } from "../daemon/server.ts";
import { interrupted } from "./receive.ts";

/** How long a stopping daemon waits for the requests and deliveries under way. */
const SHUTDOWN_GRACE_MS = 5_000;

/**
 * `natter daemon [--stdio]`: holds the home's connection, as `listen` does, and speaks
 * JSON-RPC 2.0 on `<home>/daemon.sock` (and, with --stdio, on its standard streams) to
 * scripts and bots: requests for what the CLI does, notifications for what arrives.
 * Ends on Ctrl-C or SIGTERM, when the session ends, or (with --stdio) when stdin closes.
 */
export async function daemonCommand(ctx: Invocation, opts: { stdio?: boolean }): Promise<void> {
  const stdio = opts.stdio === true;
  const home = await ctx.home();
  let connected!: (c: Connected) => void;
  let failed!: (err: unknown) => void;
  const ready = new Promise<Connected>((resolve, reject) => ((connected = resolve), (failed = reject)));
  ready.catch(() => undefined);

  // What the receiver and the messenger print (in --json) goes to every caller as a notification.
  let server!: DaemonServer;
  const notify = (stream: CapturedStream, line: JsonLine): void => {
    const method = notificationMethod(stream, line);
    if (method) server.notify(method, line);
  };
  const dispatcher = new Dispatcher(ctx, ready, (line) => notify("err", line));
  server = new DaemonServer(dispatcher.handle);
  const socketPath = join(ctx.homeDir, SOCKET_FILE);
  // A second daemon of this home stops here, before it touches the connection.
  await server.listen(socketPath, home);

  let link: Link | undefined;
  let receiver: Receiver | undefined;
  try {
    const printing = new CapturedInvocation(ctx, notify);
    const messenger = await printing.messenger(() => link!);
    receiver = new Receiver(messenger, printing.printer, () => link!, await printing.downloader(() => link!), await printing.keeping());
    link = await ctx.link({
      receive: "required",
      persistent: true,
      onDeliver: receiver.push,
      onStatus: (s) => server.notify("connection", { status: s === "reconnecting" ? "reconnecting" : "online" }),
    });
    connected({ link, messenger });
  } catch (err) {
    failed(err);
    await server.close();
    throw err;
  }

  const said = `natter daemon: JSON-RPC on ${socketPath}${stdio ? " and stdin/stdout" : ""} (Ctrl-C to stop)`;
  if (stdio) ctx.deps.stderr.write(`${said}\n`);
  else ctx.printer.state(said, { status: "daemon", socket: socketPath });
  const stdinEnded = stdio ? server.serve(ctx.deps.stdin, ctx.deps.stdout, false) : new Promise<never>(() => undefined);
  try {
    await Promise.race([link.done, interrupted(ctx.deps.interrupt), stdinEnded]);
    // Requests under way are answered and deliveries under way acked before the daemon
    // goes, unless the edge keeps them waiting past the grace period.
    let grace: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([dispatcher.idle(), receiver.idle()]),
      new Promise<void>((resolve) => (grace = setTimeout(resolve, SHUTDOWN_GRACE_MS))),
    ]);
    clearTimeout(grace);
  } finally {
    // What still waits for the edge fails now (CONNECTION_LOST), and is answered so.
    await link.close();
    await server.close();
  }
  await link.done;
}

/** Which notification a printed line is: its method name, or none for a line callers need not see. */
export function notificationMethod(stream: CapturedStream, line: JsonLine): string | undefined {
  if (stream === "err") return "warning" in line ? "warning" : "error" in line ? "error" : undefined;
  switch (line.type) {
    case "text":
    case "file":
      return "message";
    case "receipt":
      return "receipt";
    case "event":
      return "event";
    default:
      return undefined;
  }
}
