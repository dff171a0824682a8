import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";
import { NatterError, RpcReply, parse, type Verb } from "@natter/protocol";
import type { z } from "zod";
import type { Logger } from "./logger.ts";
import { isDatabaseUnavailable } from "./pg.ts";

const DEFAULT_TIMEOUT_MS = 5000;

/**
 * Answers `verb` requests on `subject` (queue group `queue`, so replicas share the load).
 * Each request is parsed with `verb.req`, handled concurrently, and answered with one
 * JSON `RpcReply`: the handler's result, its NatterError, UNAVAILABLE when Postgres cannot
 * be reached, or INTERNAL for anything else (logged without the request). A failing
 * handler never takes the process down.
 */
export function serve<V extends Verb>(
  nc: NatsConnection,
  subject: string,
  queue: string,
  verb: V,
  handler: (req: z.output<V["req"]>) => Promise<z.input<V["res"]>>,
  logger: Logger,
): Subscription {
  const log = logger.child({ subject });
  return nc.subscribe(subject, {
    queue,
    callback: (err, msg) => {
      if (err) {
        log.warn({ err }, "subscription failed");
        return;
      }
      void answer(msg, verb, handler, log);
    },
  });
}

async function answer<V extends Verb>(
  msg: Msg,
  verb: V,
  handler: (req: z.output<V["req"]>) => Promise<z.input<V["res"]>>,
  log: Logger,
): Promise<void> {
  let reply: RpcReply;
  try {
    const req = parse<V["req"]>(verb.req, decodeJson(msg.data), "BAD_FRAME");
    const data = parse<V["res"]>(verb.res, await handler(req), "INTERNAL");
    reply = { ok: true, data };
  } catch (err) {
    if (err instanceof NatterError) {
      if (err.code === "INTERNAL") log.error({ err }, "handler broke its contract");
      reply = { ok: false, code: err.code, message: err.message, ...(err.detail ? { detail: { ...err.detail } } : {}) };
    } else if (isDatabaseUnavailable(err)) {
      // Postgres down or restarting is an outage, not a bug: the caller may try again.
      log.warn({ err }, "database unavailable");
      reply = { ok: false, code: "UNAVAILABLE", message: new NatterError("UNAVAILABLE").message };
    } else {
      log.error({ err }, "handler failed");
      reply = { ok: false, code: "INTERNAL", message: new NatterError("INTERNAL").message };
    }
  }
  if (!msg.reply) return;
  try {
    msg.respond(JSON.stringify(reply));
  } catch (err) {
    log.warn({ err }, "could not send reply");
  }
}

function decodeJson(data: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(data));
  } catch (cause) {
    throw new NatterError("BAD_FRAME", "malformed request: not JSON", { cause });
  }
}

/**
 * Calls a service verb and returns its parsed result. Throws the reply's NatterError,
 * or UNAVAILABLE when nobody answers (no responders, timeout, connection closed).
 */
export async function call<V extends Verb>(
  nc: NatsConnection,
  subject: string,
  verb: V,
  req: z.input<V["req"]>,
  opts: { timeoutMs?: number } = {},
): Promise<z.output<V["res"]>> {
  let msg: Msg;
  try {
    msg = await nc.request(subject, JSON.stringify(req), { timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS });
  } catch (cause) {
    throw new NatterError("UNAVAILABLE", undefined, { cause });
  }
  const reply = parse(RpcReply, decodeReply(msg.data), "INTERNAL");
  if (!reply.ok) throw new NatterError(reply.code, reply.message, reply.detail ? { detail: reply.detail } : undefined);
  return parse<V["res"]>(verb.res, reply.data, "INTERNAL");
}

/** Calls any verb of one service's API; throws its NatterError, or UNAVAILABLE when nobody answers. */
export type ServiceCall<A extends Record<string, Verb>> = <K extends keyof A & string>(
  verb: K,
  req: z.input<A[K]["req"]>,
) => Promise<z.output<A[K]["res"]>>;

/**
 * The typed caller of one service: `subject(verb)` names each verb's subject. `before`
 * runs ahead of every request (an edge waits there for the end of its event-loop turn).
 */
export function serviceCall<A extends Record<string, Verb>>(
  nc: NatsConnection,
  api: A,
  subject: (verb: keyof A & string) => string,
  opts: { before?: () => Promise<void>; timeoutMs?: number } = {},
): ServiceCall<A> {
  const { before, ...callOpts } = opts;
  return async (verb, req) => {
    if (before) await before();
    return call(nc, subject(verb), api[verb]!, req, callOpts);
  };
}

function decodeReply(data: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(data));
  } catch (cause) {
    throw new NatterError("INTERNAL", "malformed reply: not JSON", { cause });
  }
}

/** A handler for each verb of a service's API. */
export type Handlers<A extends Record<string, Verb>> = {
  [K in keyof A]: (req: z.output<A[K]["req"]>) => Promise<z.input<A[K]["res"]>>;
};

export interface ApiServer {
  /** Stops taking requests and resolves once those in flight have been answered. */
  drain(): Promise<void>;
}

/**
 * Serves every verb of `api` on `subject(verb)` in the queue group `queue` (so replicas
 * share the load), counting requests in flight so that `drain` can wait for them.
 */
export function serveApi<A extends Record<string, Verb>>(
  nc: NatsConnection,
  api: A,
  subject: (verb: keyof A & string) => string,
  queue: string,
  handlers: Handlers<A>,
  logger: Logger,
): ApiServer {
  let inFlight = 0;
  let onIdle: (() => void) | undefined;
  const subs = (Object.keys(api) as Array<keyof A & string>).map((verb) => {
    const handler = handlers[verb];
    const tracked = async (req: z.output<A[typeof verb]["req"]>) => {
      inFlight += 1;
      try {
        return await handler(req);
      } finally {
        inFlight -= 1;
        if (inFlight === 0) onIdle?.();
      }
    };
    return serve(nc, subject(verb), queue, api[verb]!, tracked, logger.child({ verb }));
  });
  return {
    drain: async () => {
      await Promise.all(subs.map((sub) => sub.drain()));
      if (inFlight > 0) await new Promise<void>((resolve) => (onIdle = resolve));
    },
  };
}
