import type { z } from "zod";
import { NatterError, type AuthApi, type ClientFrameOf, type GroupApi, type PresenceApi, type ServerFrame, type Verb } from "@natter/protocol";
import type { ServiceCall } from "@natter/kit";
import type { Identity } from "../domain/ports.ts";

type Apis = { auth: typeof AuthApi; group: typeof GroupApi; presence: typeof PresenceApi };
type Service = keyof Apis;
type VerbOf<S extends Service> = keyof Apis[S] & string;
/** What a caller of the verb sends, and what it gets back (the caller's side of the verb's schemas). */
type Request<S extends Service, V extends VerbOf<S>> = Apis[S][V] extends Verb<infer Q, z.ZodType> ? z.input<Q> : never;
type Result<S extends Service, V extends VerbOf<S>> = Apis[S][V] extends Verb<z.ZodType, infer R> ? z.output<R> : never;

/** The services the edge forwards to. */
export type Services = { readonly [S in Service]: ServiceCall<Apis[S]> };

type GroupOp = ClientFrameOf<"group">["op"];
/** The frames the edge answers by calling one service verb. */
export type PassThroughFrame = ClientFrameOf<
  "user" | "claim" | "prekeys" | "backup" | "signedPrekey" | "group" | "groups" | "who" | "block" | "unblock" | "profile" | "profileOf" | "sessions" | "revoke"
>;
/** A row of the table: a frame type, or a group command by its op (each op is a verb of its own). */
export type PassThroughKey = Exclude<PassThroughFrame["t"], "group"> | `group ${GroupOp}`;
type FrameOf<K extends PassThroughKey> = K extends `group ${string}` ? ClientFrameOf<"group"> : Extract<PassThroughFrame, { t: K }>;

/** One frame type forwarded to one service verb. */
export interface Route<F extends PassThroughFrame, S extends Service, V extends VerbOf<S>> {
  readonly service: S;
  readonly verb: V;
  /** The request, built from the frame and the connection's identity: whom it acts for is never the frame's to say. */
  readonly request: (frame: F, me: Identity) => Request<S, V>;
  /** The reply frame that carries the result. */
  readonly reply: (result: Result<S, V>, frame: F) => ServerFrame;
}

/** Makes the rows of one service: `via("auth")("user", request, reply)`. */
function via<S extends Service>(service: S) {
  return <V extends VerbOf<S>, F extends PassThroughFrame>(
    verb: V,
    request: (frame: F, me: Identity) => Request<S, V>,
    reply: (result: Result<S, V>, frame: F) => ServerFrame,
  ): Route<F, S, V> => ({ service, verb, request, reply });
}

const auth = via("auth");
const group = via("group");
const presence = via("presence");

type Frame<T extends PassThroughFrame["t"]> = ClientFrameOf<T>;
type GroupFrame = ClientFrameOf<"group">;

const actor = (f: GroupFrame, me: Identity) => ({ userId: me.userId, username: me.username, name: f.name });
const signed = (f: GroupFrame, me: Identity) => {
  if (!f.entry) throw new NatterError("BAD_FRAME", `group ${f.op} needs a signed entry`);
  return { ...actor(f, me), entry: f.entry };
};
const withUser = (f: GroupFrame, me: Identity) => {
  if (!f.user) throw new NatterError("BAD_FRAME", `group ${f.op} needs a user`);
  return { ...signed(f, me), user: f.user };
};
const groupReply = (view: Result<"group", "join">, f: GroupFrame): ServerFrame => ({ t: "group", id: f.id, group: view });
const ok = (_: unknown, f: { id: number }): ServerFrame => ({ t: "ok", id: f.id });
const revokeRequest = (f: Frame<"revoke">, me: Identity) => {
  if ((f.session === undefined) === (f.others === undefined)) throw new NatterError("BAD_FRAME", "revoke needs either a session or others");
  if (f.session === me.sid) throw new NatterError("BAD_FRAME", "this connection's own session ends with logout");
  return f.session === undefined ? { userId: me.userId, except: me.sid } : { userId: me.userId, session: f.session };
};

/**
 * The verbs an edge only forwards: for each, which service verb a frame becomes, how the
 * request is built, and which reply frame carries the result.
 */
export const PASS_THROUGH = {
  user: auth("user", (f: Frame<"user">) => ({ username: f.user }), (user, f) => ({ t: "user", id: f.id, ...user })),
  claim: auth("claim", (f: Frame<"claim">, me) => ({ userId: me.userId, username: f.user }), (keys, f) => ({ t: "keys", id: f.id, ...keys })),
  prekeys: auth(
    "prekeys",
    (f: Frame<"prekeys">, me) => ({ userId: me.userId, add: f.add, addKem: f.addKem, replace: f.replace }),
    ({ count, kemCount, kemLastResort }, f) => ({ t: "prekeys", id: f.id, count, kemCount, kemLastResort }),
  ),
  backup: auth("backup", (f: Frame<"backup">, me) => ({ userId: me.userId, put: f.put }), ({ backup }, f) => ({ t: "backup", id: f.id, backup })),
  signedPrekey: auth("signedPrekey", (f: Frame<"signedPrekey">, me) => ({ userId: me.userId, key: f.key, kemLastResort: f.kemLastResort }), ok),
  "group create": group("create", (f: GroupFrame, me) => ({ ...signed(f, me), members: f.members }), groupReply),
  "group join": group("join", signed, groupReply),
  "group members": group(
    "members",
    (f: GroupFrame, me) => actor(f, me),
    ({ group, members }, f) => ({ t: "members", id: f.id, group, members }),
  ),
  "group add": group("add", withUser, groupReply),
  "group remove": group("remove", withUser, groupReply),
  "group leave": group("leave", signed, groupReply),
  "group admin": group("admin", withUser, groupReply),
  "group close": group("close", signed, groupReply),
  "group chain": group(
    "chain",
    (f: GroupFrame, me) => ({ ...actor(f, me), after: f.after ?? -1 }),
    ({ group, head, entries, more }, f) => ({ t: "chain", id: f.id, group, head, entries, more }),
  ),
  groups: group("list", (_: Frame<"groups">) => ({}), ({ groups }, f) => ({ t: "groups", id: f.id, groups })),
  who: presence("who", (f: Frame<"who">, me) => ({ userId: me.userId, lastHour: f.lastHour }), ({ users }, f) => ({ t: "who", id: f.id, users })),
  block: auth("block", (f: Frame<"block">, me) => ({ userId: me.userId, username: f.user }), ok),
  unblock: auth("unblock", (f: Frame<"unblock">, me) => ({ userId: me.userId, username: f.user }), ok),
  profile: auth("profile", (f: Frame<"profile">, me) => ({ userId: me.userId, put: f.put }), ({ blob }, f) => ({ t: "profile", id: f.id, blob })),
  sessions: auth(
    "sessions",
    (_: Frame<"sessions">, me) => ({ userId: me.userId, sid: me.sid }),
    ({ sessions }, f) => ({ t: "sessions", id: f.id, sessions }),
  ),
  // Every edge closes the connections of the sessions auth ends, on its announcement.
  revoke: auth("revoke", revokeRequest, ({ ended }, f) => ({ t: "revoked", id: f.id, ended: ended.length })),
  profileOf: auth(
    "profileOf",
    (f: Frame<"profileOf">, me) => ({ userId: me.userId, username: f.user }),
    (profile, f) => ({ t: "profileOf", id: f.id, ...profile }),
  ),
} satisfies { readonly [K in PassThroughKey]: { request(frame: FrameOf<K>, me: Identity): unknown } };

/** The row of the table a frame belongs to. */
export function passThroughKey(frame: PassThroughFrame): PassThroughKey {
  return frame.t === "group" ? `group ${frame.op}` : frame.t;
}

/**
 * A row seen without its types. Method signatures, so that every row fits: each takes its
 * own frame type and result, and the key a frame is looked up by guarantees they match.
 */
interface AnyRoute {
  readonly service: Service;
  readonly verb: string;
  request(frame: PassThroughFrame, me: Identity): unknown;
  reply(result: unknown, frame: PassThroughFrame): ServerFrame;
}
type AnyCall = (verb: string, req: unknown) => Promise<unknown>;

/** Answers a forwarded frame: calls its service verb for `me` and wraps the result in its reply frame. */
export async function passThrough(services: Services, frame: PassThroughFrame, me: Identity): Promise<ServerFrame> {
  const route: AnyRoute = PASS_THROUGH[passThroughKey(frame)];
  const call = services[route.service] as AnyCall;
  return route.reply(await call(route.verb, route.request(frame, me)), frame);
}
