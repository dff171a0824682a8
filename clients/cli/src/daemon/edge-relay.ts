import { z } from "zod";
import { ClientFrame, decodeBody, encodeRecord, parse, ServerFrame, type ServerFrameOf } from "@natter/protocol";
import { CliError } from "../errors.ts";
import type { RequestBody, ServerFrameType } from "../transport/connection.ts";
import type { Link } from "../transport/link.ts";
import { RPC_ERRORS, RpcError } from "./json-rpc.ts";

/**
 * How natter's own one-shot commands use a running daemon's connection instead of opening
 * one: a request to the edge, encoded as on the wire (MessagePack, here in base64url),
 * goes through the daemon's link and its answer comes back the same way. Only the
 * requests a one-shot command makes over its link are relayed; logging in, receiving and
 * file transfers are not (a command that moves a file opens its own connection for it).
 */
export const EDGE_RELAY_METHOD = "natter.edge";

/** The requests relayed: those a one-shot command sends with `link.call`. */
const RELAYED = new Set<string>([
  "logout", "sessions", "revoke", "send", "user", "claim", "prekeys", "backup", "signedPrekey", "ping",
  "group", "groups", "gsend", "who", "block", "unblock", "profile", "profileOf",
]);

const ServerFrameTypes = new Set<string>(ServerFrame.options.map((o) => o.shape.t.value));

export const RelayParams = z.object({
  frame: z.string().min(1).max(1024 * 1024).regex(/^[A-Za-z0-9_-]*$/),
  expect: z.string().refine((t) => ServerFrameTypes.has(t), "not a frame type"),
}).strict();

/** Encodes a request for the relay (client side). */
export function relayRequest(body: RequestBody, expect: ServerFrameType): z.infer<typeof RelayParams> {
  return { frame: base64url(encodeRecord(body)), expect };
}

/** Runs a relayed request over the daemon's link (daemon side); answers the edge's frame, encoded. */
export async function relay(link: Link, params: z.infer<typeof RelayParams>): Promise<{ frame: string }> {
  // The id is the connection's to give: a placeholder lets the frame be checked as the edge checks it.
  let frame: ClientFrame;
  try {
    frame = parse(ClientFrame, { ...asObject(decodeBody(Buffer.from(params.frame, "base64url"))), id: 0 });
  } catch (err) {
    throw new RpcError(RPC_ERRORS.INVALID_PARAMS, `invalid params: frame: ${err instanceof Error ? err.message : "not a request"}`);
  }
  if (!RELAYED.has(frame.t)) throw new CliError("USAGE", `a ${frame.t} request is not relayed by the daemon`);
  const { id: _, ...body } = frame as ClientFrame & { id: number };
  const answer = await link.call(body as RequestBody, params.expect as ServerFrameType);
  return { frame: base64url(encodeRecord(answer)) };
}

/** Decodes the relay's answer (client side): the edge's frame, checked as a connection checks it. */
export function relayAnswer<T extends ServerFrameType>(answer: unknown, expect: T): ServerFrameOf<T> {
  const { frame } = parse(z.object({ frame: z.string().regex(/^[A-Za-z0-9_-]*$/) }), answer);
  const decoded = parse(ServerFrame, decodeBody(Buffer.from(frame, "base64url")));
  if (decoded.t !== expect) throw new CliError("CONNECTION_LOST", "the daemon answered with the wrong kind of frame");
  // Checked just above: the frame is the one asked for.
  return decoded as ServerFrameOf<T>;
}

function base64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64url");
}

function asObject(value: unknown): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value) || value instanceof Uint8Array) throw new Error("a relayed frame is a map");
  return { ...value };
}
