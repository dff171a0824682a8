import type { Invocation } from "../invocation.ts";
import type { Link } from "../transport/link.ts";
import type { Messenger } from "../messaging/messenger.ts";
import { CapturedInvocation, type JsonLine } from "./captured-invocation.ts";
import { EDGE_RELAY_METHOD, relay, RelayParams } from "./edge-relay.ts";
import { errorResponse, parseLine, parseParams, resultResponse, RPC_ERRORS, RpcError, toRpcError, type RpcResponse } from "./json-rpc.ts";
import { answerOf, isMethodName, METHODS } from "./methods.ts";

/** What the methods run over once the daemon is connected. */
export interface Connected {
  link: Link;
  messenger: Messenger;
}

/**
 * Turns lines into answers: each request runs its method's action, one at a time in the
 * order they came from all callers (as the shell runs its lines), over the daemon's link.
 * Nothing of a request or its answer is logged.
 */
export class Dispatcher {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly relaying = new Set<Promise<unknown>>();

  constructor(
    private readonly daemon: Invocation,
    private readonly connected: Promise<Connected>,
    /** Warnings a method printed on the way (none carry message text): sent on as notifications. */
    private readonly warn: (line: JsonLine) => void,
  ) {}

  /** For `DaemonServer`: never throws. */
  readonly handle = async (line: string): Promise<RpcResponse | undefined> => {
    const parsed = parseLine(line);
    if (parsed.kind === "invalid") return errorResponse(parsed.id, parsed.error);
    const { request } = parsed;
    let run: Promise<unknown>;
    if (request.method === EDGE_RELAY_METHOD) {
      // A one-shot command's request to the edge: the link takes several at once, and the
      // command may be waiting for it while a bot's request is queued.
      run = this.relayed(request.params);
      const tracked = run.catch(() => undefined).finally(() => this.relaying.delete(tracked));
      this.relaying.add(tracked);
    } else {
      run = this.queue.then(() => this.call(request.method, request.params));
      this.queue = run.catch(() => undefined);
    }
    try {
      const result = await run;
      return request.id === undefined ? undefined : resultResponse(request.id, result);
    } catch (err) {
      return request.id === undefined ? undefined : errorResponse(request.id, toRpcError(err));
    }
  };

  /** Resolves once every request taken so far is answered. */
  async idle(): Promise<void> {
    let seen: Promise<unknown> | undefined;
    while (seen !== this.queue) {
      seen = this.queue;
      await seen;
    }
    await Promise.all([...this.relaying]);
  }

  private async relayed(params: unknown): Promise<unknown> {
    const args = parseParams(RelayParams, params);
    const { link } = await this.connected;
    return relay(link, args);
  }

  private async call(name: string, params: unknown): Promise<unknown> {
    if (!isMethodName(name)) throw new RpcError(RPC_ERRORS.METHOD_NOT_FOUND, `no such method: ${name.slice(0, 100)} (see docs/JSON-RPC.md)`);
    const run = METHODS[name].prepare(params);
    const { link, messenger } = await this.connected;
    const lines: JsonLine[] = [];
    const ctx = new CapturedInvocation(this.daemon, (stream, line) => (stream === "out" ? lines.push(line) : this.warn(line)));
    await run({ ctx, link, messenger });
    return answerOf(name, lines);
  }
}
