import { z } from "zod";
import { describeError, exitCodeFor, EXIT } from "../errors.ts";

/**
 * JSON-RPC 2.0 as the daemon speaks it: the shapes of requests, responses and
 * notifications, the error codes, and how one line of input becomes a request or an
 * error to answer. Batches (arrays) are answered with one "invalid request" error.
 */

export const RPC_ERRORS = {
  /** The line is not JSON. */
  PARSE: -32700,
  /** JSON, but not a request object (a batch, a missing method, a wrong id…), or too long a line. */
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  /** The params do not fit the method, or a natter USAGE error. */
  INVALID_PARAMS: -32602,
  /** A failure inside natter that is not the caller's (a bug): no detail is given. */
  INTERNAL: -32603,
  /** natter refused (no such user, not a member, a changed identity key…); `data.code` says which. */
  REFUSED: -32000,
  /** The session is gone (logged out elsewhere, revoked): the daemon stops after answering. */
  AUTH: -32001,
  /** No server could be reached, or the connection was lost. */
  NO_SERVICE: -32002,
} as const;

export type RpcErrorCode = (typeof RPC_ERRORS)[keyof typeof RPC_ERRORS];

export type RequestId = string | number | null;

/** A request (with an id: it is answered) or a notification from the caller (no id: it is run, never answered). */
export interface RpcRequest {
  id?: RequestId;
  method: string;
  params: unknown;
}

export interface RpcErrorObject {
  code: RpcErrorCode;
  message: string;
  data?: { code: string };
}

export type RpcResponse =
  | { jsonrpc: "2.0"; id: RequestId; result: unknown }
  | { jsonrpc: "2.0"; id: RequestId; error: RpcErrorObject };

export interface RpcNotification {
  jsonrpc: "2.0";
  method: string;
  params: Record<string, unknown>;
}

const Id = z.union([z.string(), z.number(), z.null()]);

const Request = z.object({
  jsonrpc: z.literal("2.0"),
  method: z.string().min(1).max(100),
  params: z.union([z.record(z.string(), z.unknown()), z.array(z.unknown())]).optional(),
  id: Id.optional(),
}).strict();

/** Thrown by a method or the dispatcher: answered as this JSON-RPC error. */
export class RpcError extends Error {
  override readonly name = "RpcError";

  constructor(readonly code: RpcErrorCode, message: string, readonly data?: { code: string }) {
    super(message);
  }

  toObject(): RpcErrorObject {
    return { code: this.code, message: this.message, ...(this.data ? { data: this.data } : {}) };
  }
}

/** What one line of input is: a request to run, or an error to answer (with the id, when one could be read). */
export type ParsedLine = { kind: "request"; request: RpcRequest } | { kind: "invalid"; id: RequestId; error: RpcError };

/** Reads one line (one JSON value) as a request. */
export function parseLine(line: string): ParsedLine {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { kind: "invalid", id: null, error: new RpcError(RPC_ERRORS.PARSE, "parse error: the line is not JSON") };
  }
  if (Array.isArray(value)) {
    return { kind: "invalid", id: null, error: new RpcError(RPC_ERRORS.INVALID_REQUEST, "batch requests are not supported: send one request a line") };
  }
  const result = Request.safeParse(value);
  if (!result.success) {
    // The id is echoed when it is a valid one, so a caller can tell which request failed.
    const maybeId = typeof value === "object" && value !== null && "id" in value ? Id.safeParse(value.id) : undefined;
    return { kind: "invalid", id: maybeId?.success ? maybeId.data : null, error: new RpcError(RPC_ERRORS.INVALID_REQUEST, `invalid request: ${problems(result.error)}`) };
  }
  const { method, params, id } = result.data;
  return { kind: "request", request: { method, params: params ?? {}, ...(id === undefined ? {} : { id }) } };
}

/** Checks a method's params against its schema: -32602 with each bad path (never the values: they may be message text). */
export function parseParams<S extends z.ZodType>(schema: S, params: unknown): z.output<S> {
  if (Array.isArray(params)) throw new RpcError(RPC_ERRORS.INVALID_PARAMS, "invalid params: give params by name (an object), not by position");
  const result = schema.safeParse(params);
  if (!result.success) throw new RpcError(RPC_ERRORS.INVALID_PARAMS, `invalid params: ${problems(result.error)}`);
  return result.data;
}

/**
 * Any failure of a method as a JSON-RPC error: natter's errors keep their code in `data`
 * and their catalogue sentence; anything unexpected says nothing more (it could hold
 * message text or keys).
 */
export function toRpcError(err: unknown): RpcError {
  if (err instanceof RpcError) return err;
  const { code, message } = describeError(err);
  if (code === "INTERNAL") return new RpcError(RPC_ERRORS.INTERNAL, message, { code });
  if (code === "USAGE") return new RpcError(RPC_ERRORS.INVALID_PARAMS, message, { code });
  const exit = exitCodeFor(code);
  const rpc = exit === EXIT.AUTH ? RPC_ERRORS.AUTH : exit === EXIT.NO_SERVICE ? RPC_ERRORS.NO_SERVICE : RPC_ERRORS.REFUSED;
  return new RpcError(rpc, message, { code });
}

export function resultResponse(id: RequestId, result: unknown): RpcResponse {
  return { jsonrpc: "2.0", id, result };
}

export function errorResponse(id: RequestId, error: RpcError): RpcResponse {
  return { jsonrpc: "2.0", id, error: error.toObject() };
}

export function notification(method: string, params: Record<string, unknown>): RpcNotification {
  return { jsonrpc: "2.0", method, params };
}

function problems(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`)
    .join("; ");
}
