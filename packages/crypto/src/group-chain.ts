import { concat, fromBase64url, toBase64url, utf8, type Bytes } from "./bytes.ts";
import type { Primitives } from "./primitives.ts";

// A group is a chain of signed changes. Each entry names the hash of the one before, its
// position, its signer and one operation; it is signed with the signer's Ed25519 identity
// key. Validation is pure: the same entries give the same state on every client and on the
// group service, whatever order they were fetched in. See docs/SECURITY.md ("Groups").

/** The only version of the entry format. */
export const CHAIN_VERSION = 1;
/** Most members a group may hold. */
export const MAX_CHAIN_MEMBERS = 1024;
/** Most characters of one entry as JSON text (a genesis of MAX_CHAIN_MEMBERS fits). */
export const MAX_CHAIN_ENTRY_TEXT = 256 * 1024;

const NAME = /^[a-z0-9_.-]{3,32}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const B64 = /^[A-Za-z0-9_-]+$/;
const HASH_CONTEXT = utf8("natter group chain v1\0");
const SIGN_CONTEXT = utf8("natter group entry v1\0");

/** A member as an entry names them: the identity key is the one its signer vouches for. */
export interface ChainMemberRef {
  readonly userId: string;
  readonly username: string;
  /** Ed25519 public key, base64url. */
  readonly identityKey: string;
}

export type ChainOp =
  | {
      readonly type: "genesis";
      readonly name: string;
      readonly open: boolean;
      /** 16 random bytes, base64url: two groups of the same name and members get different ids. */
      readonly nonce: string;
      readonly members: readonly (ChainMemberRef & { readonly admin: boolean })[];
    }
  | { readonly type: "add"; readonly member: ChainMemberRef }
  | { readonly type: "remove"; readonly userId: string }
  | { readonly type: "promote"; readonly userId: string }
  | { readonly type: "leave" }
  | { readonly type: "join"; readonly member: ChainMemberRef }
  | { readonly type: "close" }
  | { readonly type: "rename"; readonly name: string };

export type ChainOpType = ChainOp["type"];

/** An entry before it is signed. */
export interface UnsignedEntry {
  readonly v: typeof CHAIN_VERSION;
  /** Hash of the entry before, base64url; null for the genesis. */
  readonly prev: string | null;
  /** 0 for the genesis, then one more each entry. */
  readonly seq: number;
  /** User id of the signer. */
  readonly by: string;
  /** When the signer made it, milliseconds since the epoch (their clock: informative only). */
  readonly at: number;
  readonly op: ChainOp;
}

export interface ChainEntry extends UnsignedEntry {
  /** Ed25519 signature by `by`'s identity key over the entry's hash, base64url. */
  readonly sig: string;
}

export interface ChainMember extends ChainMemberRef {
  readonly admin: boolean;
  /** Seq of the entry that made them a member (their membership's age: lower is longer-standing). */
  readonly since: number;
}

/** A group as its chain makes it. */
export interface ChainState {
  /** A UUID derived from the genesis hash. */
  readonly groupId: string;
  readonly name: string;
  readonly open: boolean;
  /** In the order they became members (earliest first). */
  readonly members: readonly ChainMember[];
  /** Seq and hash of the last entry applied. */
  readonly seq: number;
  readonly head: string;
  /** The last member left: no entry can follow. */
  readonly ended: boolean;
}

export const CHAIN_ERROR_CODES = [
  "MALFORMED", "BAD_VERSION", "BAD_LINK", "BAD_SEQ", "BAD_SIGNATURE", "BAD_GENESIS",
  "NOT_A_MEMBER", "NOT_ADMIN", "ALREADY_A_MEMBER", "GROUP_CLOSED", "GROUP_ENDED", "NOT_SELF",
] as const;
/** Why an entry was refused. */
export type ChainErrorCode = (typeof CHAIN_ERROR_CODES)[number];

export type ChainResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly code: ChainErrorCode; readonly detail: string };

/** A chain entry that is well-formed, with its hash: what `applyEntry` checks against a state. */
export interface ParsedEntry {
  readonly entry: ChainEntry;
  readonly hash: string;
}

class Refusal extends Error {
  constructor(readonly code: ChainErrorCode, detail: string) {
    super(detail);
  }
}

function refuse(code: ChainErrorCode, detail: string): never {
  throw new Refusal(code, detail);
}

function caught<T>(err: unknown): ChainResult<T> {
  if (err instanceof Refusal) return { ok: false, code: err.code, detail: err.message };
  throw err;
}

/**
 * The canonical encoding that is hashed and signed: JSON with object keys sorted, no
 * whitespace, integers only. Every field is a string, integer, boolean, null, array or object.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === "boolean" || typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new Refusal("MALFORMED", "numbers in an entry are safe integers");
    return String(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object") {
    const o = value as Record<string, unknown>;
    const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(",")}}`;
  }
  throw new Refusal("MALFORMED", "an entry holds only JSON values");
}

/** SHA-256 of the entry's signed fields (everything but `sig`), base64url. */
export async function entryHash(p: Primitives, entry: UnsignedEntry): Promise<string> {
  const { v, prev, seq, by, at, op } = entry;
  return toBase64url(await p.sha256(HASH_CONTEXT, utf8(canonicalJson({ v, prev, seq, by, at, op }))));
}

/** Signs an entry with the signer's identity key seed. */
export async function signEntry(p: Primitives, identitySeed: Bytes, entry: UnsignedEntry): Promise<ChainEntry> {
  const hash = await entryHash(p, entry);
  const sig = await p.ed25519Sign(identitySeed, concat(SIGN_CONTEXT, fromBase64url(hash)));
  return { ...entry, sig: toBase64url(sig) };
}

/**
 * The signed text of the entry that applies `op` on top of `state` (undefined: a
 * genesis), made by `by` with its identity key seed.
 */
export async function makeEntry(p: Primitives, identitySeed: Bytes, state: ChainState | undefined, by: string, op: ChainOp, at: number): Promise<string> {
  const unsigned: UnsignedEntry = { v: CHAIN_VERSION, prev: state?.head ?? null, seq: state ? state.seq + 1 : 0, by, at, op };
  return encodeEntry(await signEntry(p, identitySeed, unsigned));
}

/** The entry as text for the wire and the store (canonical JSON of every field, `sig` included). */
export function encodeEntry(entry: ChainEntry): string {
  return canonicalJson(entry);
}

/**
 * The group id a genesis hash commits to: its first 16 bytes as a UUID (version 8, the
 * RFC 9562 version for custom layouts, and its variant bits).
 */
export function groupIdOf(genesisHash: string): string {
  const b = fromBase64url(genesisHash).slice(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x80;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Parses an entry from its text (or a decoded value) and hashes it; refuses anything malformed. */
export async function parseEntry(p: Primitives, input: unknown): Promise<ChainResult<ParsedEntry>> {
  try {
    let value = input;
    if (typeof input === "string") {
      if (input.length > MAX_CHAIN_ENTRY_TEXT) refuse("MALFORMED", "entry too large");
      try {
        value = JSON.parse(input);
      } catch {
        refuse("MALFORMED", "entry is not JSON");
      }
    }
    const entry = shapeOf(value);
    return { ok: true, value: { entry, hash: await entryHash(p, entry) } };
  } catch (err) {
    return caught(err);
  }
}

/**
 * Applies one entry to the state before it (undefined before the genesis): checks its
 * link, position, signature (by the signer's key as the state records it; a join by the
 * key the joiner names) and rule, and returns the state after it.
 */
export async function applyEntry(p: Primitives, state: ChainState | undefined, input: unknown): Promise<ChainResult<ChainState>> {
  const parsed = await parseEntry(p, input);
  if (!parsed.ok) return parsed;
  try {
    const { entry, hash } = parsed.value;
    const key = signerKey(state, entry);
    const signed = await p.ed25519Verify(fromBase64url(key), concat(SIGN_CONTEXT, fromBase64url(hash)), fromBase64url(entry.sig));
    if (!signed) refuse("BAD_SIGNATURE", `entry ${entry.seq} is not signed by ${entry.by}`);
    return { ok: true, value: transition(state, entry, hash) };
  } catch (err) {
    return caught(err);
  }
}

/** Validates a whole chain from its genesis; refuses at the first bad entry, naming its index. */
export async function validateChain(p: Primitives, entries: readonly unknown[]): Promise<ChainResult<ChainState> & { readonly index?: number }> {
  let state: ChainState | undefined;
  for (let i = 0; i < entries.length; i++) {
    const r = await applyEntry(p, state, entries[i]);
    if (!r.ok) return { ...r, index: i };
    state = r.value;
  }
  if (!state) return { ok: false, code: "BAD_GENESIS", detail: "an empty chain", index: 0 };
  return { ok: true, value: state };
}

/** The member `userId` in `state`, if any. */
export function chainMember(state: ChainState, userId: string): ChainMember | undefined {
  return state.members.find((m) => m.userId === userId);
}

/** Where a server's view of a group stands against the chain this client has verified. */
export type HeadRelation =
  /** The same head. */
  | { readonly kind: "same" }
  /** Later than mine: fetch and verify what follows. */
  | { readonly kind: "ahead" }
  /** An earlier head of my own chain: entries I have seen are withheld. */
  | { readonly kind: "rollback"; readonly mine: number }
  /** A different entry at a position I know: two histories. */
  | { readonly kind: "fork"; readonly at: number };

/**
 * Compares a head someone shows me (the server's latest, or the one a member's message
 * names) with my verified chain, given as the hash of each of my entries by seq.
 */
export function headRelation(myHashes: readonly string[], theirs: { readonly seq: number; readonly head: string }): HeadRelation {
  const last = myHashes.length - 1;
  if (theirs.seq > last) return { kind: "ahead" };
  if (myHashes[theirs.seq] !== theirs.head) return { kind: "fork", at: theirs.seq };
  return theirs.seq === last ? { kind: "same" } : { kind: "rollback", mine: last };
}

/** How a member list someone claims differs from the verified one: who is claimed without an entry, and who is left out. */
export interface MembershipDifference {
  readonly unverified: readonly { readonly userId: string; readonly username: string }[];
  readonly missing: readonly ChainMember[];
}

/** Compares a claimed member list (e.g. a server's answer) with the verified state. */
export function membershipDifference(state: ChainState, claimed: readonly { readonly userId: string; readonly username: string }[]): MembershipDifference {
  const verified = new Set(state.members.map((m) => m.userId));
  const shown = new Set(claimed.map((m) => m.userId));
  return {
    unverified: claimed.filter((m) => !verified.has(m.userId)).map((m) => ({ userId: m.userId, username: m.username })),
    missing: state.members.filter((m) => !shown.has(m.userId)),
  };
}

function signerKey(state: ChainState | undefined, entry: ChainEntry): string {
  if (!state) {
    if (entry.op.type !== "genesis") refuse("BAD_GENESIS", "a chain starts with a genesis");
    const me = entry.op.members.find((m) => m.userId === entry.by);
    if (!me) refuse("BAD_GENESIS", "the creator is a member of the group made");
    return me.identityKey;
  }
  if (state.ended) refuse("GROUP_ENDED", "the group has ended");
  if (entry.prev !== state.head) refuse("BAD_LINK", `entry ${entry.seq} does not follow the head`);
  if (entry.seq !== state.seq + 1) refuse("BAD_SEQ", `entry ${entry.seq} after ${state.seq}`);
  if (entry.op.type === "join") {
    if (entry.op.member.userId !== entry.by) refuse("NOT_SELF", "a join is signed by the joiner");
    return entry.op.member.identityKey;
  }
  const signer = chainMember(state, entry.by);
  if (!signer) refuse("NOT_A_MEMBER", `${entry.by} is not a member`);
  return signer.identityKey;
}

function transition(state: ChainState | undefined, entry: ChainEntry, hash: string): ChainState {
  const op = entry.op;
  if (!state) {
    if (op.type !== "genesis" || entry.prev !== null || entry.seq !== 0) refuse("BAD_GENESIS", "a genesis is entry 0 with no previous");
    const ids = new Set(op.members.map((m) => m.userId));
    if (ids.size !== op.members.length) refuse("BAD_GENESIS", "a member is listed twice");
    if (!op.members.some((m) => m.userId === entry.by && m.admin)) refuse("BAD_GENESIS", "the creator is an admin");
    return {
      groupId: groupIdOf(hash), name: op.name, open: op.open, seq: 0, head: hash, ended: false,
      members: op.members.map((m) => ({ ...ref(m), admin: m.admin, since: 0 })),
    };
  }
  const next = (changes: Partial<ChainState>): ChainState => ({ ...state, ...changes, seq: entry.seq, head: hash });
  const signer = chainMember(state, entry.by);
  const admin = () => {
    if (!signer?.admin) refuse("NOT_ADMIN", `${entry.by} is not an admin`);
  };
  switch (op.type) {
    case "genesis":
      return refuse("BAD_GENESIS", "a genesis only starts a chain");
    case "join":
      if (chainMember(state, op.member.userId)) refuse("ALREADY_A_MEMBER", `${op.member.userId} is a member`);
      if (!state.open) refuse("GROUP_CLOSED", "only admins let people into a closed group");
      return next({ members: withNew(state, op.member, entry.seq) });
    case "add":
      admin();
      if (chainMember(state, op.member.userId)) refuse("ALREADY_A_MEMBER", `${op.member.userId} is a member`);
      return next({ members: withNew(state, op.member, entry.seq) });
    case "remove":
      admin();
      if (op.userId === entry.by) refuse("NOT_SELF", "removing oneself is leaving");
      if (!chainMember(state, op.userId)) refuse("NOT_A_MEMBER", `${op.userId} is not a member`);
      return next(without(state, op.userId));
    case "leave":
      return next(without(state, entry.by));
    case "promote":
      admin();
      if (!chainMember(state, op.userId)) refuse("NOT_A_MEMBER", `${op.userId} is not a member`);
      return next({ members: state.members.map((m) => (m.userId === op.userId ? { ...m, admin: true } : m)) });
    case "close":
      admin();
      return next({ open: false });
    case "rename":
      admin();
      return next({ name: op.name });
  }
}

function withNew(state: ChainState, member: ChainMemberRef, seq: number): ChainMember[] {
  if (state.members.length >= MAX_CHAIN_MEMBERS) refuse("MALFORMED", "the group is full");
  return [...state.members, { ...ref(member), admin: false, since: seq }];
}

/**
 * The state without `userId`. When no admin remains, the longest-standing member becomes
 * one (a rule every validator applies the same way: no entry needed); when nobody remains
 * the group has ended.
 */
function without(state: ChainState, userId: string): Partial<ChainState> {
  const members = state.members.filter((m) => m.userId !== userId);
  if (members.length === 0) return { members, ended: true };
  if (members.some((m) => m.admin)) return { members };
  const [first, ...rest] = members;
  return { members: [{ ...first!, admin: true }, ...rest] };
}

function ref(m: ChainMemberRef): ChainMemberRef {
  return { userId: m.userId, username: m.username, identityKey: m.identityKey };
}

// Shape checks: an entry has exactly its fields, of their types.

type Obj = Record<string, unknown>;

function object(v: unknown, path: string, keys: readonly string[]): Obj {
  if (typeof v !== "object" || v === null || Array.isArray(v)) refuse("MALFORMED", `${path}: expected an object`);
  const o = v as Obj;
  for (const k of Object.keys(o)) if (!keys.includes(k)) refuse("MALFORMED", `${path}.${k}: unexpected`);
  return o;
}

function text(v: unknown, path: string, pattern: RegExp, max = 64): string {
  if (typeof v !== "string" || v.length > max || !pattern.test(v)) refuse("MALFORMED", `${path}: expected ${pattern.source}`);
  return v;
}

function integer(v: unknown, path: string): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) refuse("MALFORMED", `${path}: expected a non-negative integer`);
  return v;
}

function flag(v: unknown, path: string): boolean {
  if (typeof v !== "boolean") refuse("MALFORMED", `${path}: expected a boolean`);
  return v;
}

function b64(v: unknown, path: string, length: number): string {
  const s = text(v, path, B64, 128);
  let bytes: Bytes;
  try {
    bytes = fromBase64url(s);
  } catch {
    return refuse("MALFORMED", `${path}: expected base64url`);
  }
  // One encoding per value: the hash covers the text, so no two spellings of the same bytes.
  if (bytes.length !== length || toBase64url(bytes) !== s) refuse("MALFORMED", `${path}: expected ${length} bytes`);
  return s;
}

function memberRef(v: unknown, path: string, extra: readonly string[] = []): ChainMemberRef & Obj {
  const o = object(v, path, ["userId", "username", "identityKey", ...extra]);
  return {
    ...o,
    userId: text(o.userId, `${path}.userId`, UUID),
    username: text(o.username, `${path}.username`, NAME),
    identityKey: b64(o.identityKey, `${path}.identityKey`, 32),
  };
}

function opOf(v: unknown): ChainOp {
  const t = (typeof v === "object" && v !== null ? (v as Obj).type : undefined) as unknown;
  switch (t) {
    case "genesis": {
      const o = object(v, "op", ["type", "name", "open", "nonce", "members"]);
      if (!Array.isArray(o.members) || o.members.length === 0 || o.members.length > MAX_CHAIN_MEMBERS) refuse("MALFORMED", "op.members: 1 to MAX_CHAIN_MEMBERS");
      const members = o.members.map((m, i) => {
        const r = memberRef(m, `op.members[${i}]`, ["admin"]);
        return { userId: r.userId, username: r.username, identityKey: r.identityKey, admin: flag(r.admin, `op.members[${i}].admin`) };
      });
      return { type: "genesis", name: text(o.name, "op.name", NAME), open: flag(o.open, "op.open"), nonce: b64(o.nonce, "op.nonce", 16), members };
    }
    case "add":
    case "join": {
      const o = object(v, "op", ["type", "member"]);
      return { type: t, member: ref(memberRef(o.member, "op.member")) };
    }
    case "remove":
    case "promote": {
      const o = object(v, "op", ["type", "userId"]);
      return { type: t, userId: text(o.userId, "op.userId", UUID) };
    }
    case "leave":
    case "close":
      object(v, "op", ["type"]);
      return { type: t };
    case "rename": {
      const o = object(v, "op", ["type", "name"]);
      return { type: "rename", name: text(o.name, "op.name", NAME) };
    }
    default:
      return refuse("MALFORMED", "op.type: unknown");
  }
}

function shapeOf(v: unknown): ChainEntry {
  const o = object(v, "entry", ["v", "prev", "seq", "by", "at", "op", "sig"]);
  if (o.v !== CHAIN_VERSION) refuse("BAD_VERSION", `entry.v: ${String(o.v)}`);
  return {
    v: CHAIN_VERSION,
    prev: o.prev === null ? null : b64(o.prev, "entry.prev", 32),
    seq: integer(o.seq, "entry.seq"),
    by: text(o.by, "entry.by", UUID),
    at: integer(o.at, "entry.at"),
    op: opOf(o.op),
    sig: b64(o.sig, "entry.sig", 64),
  };
}
