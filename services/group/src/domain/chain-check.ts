import { applyEntry, encodeEntry, parseEntry, validateChain, type ChainEntry, type ChainErrorCode, type ChainOp, type ChainState, type Primitives } from "@natter/crypto";
import { NatterError, type ErrorCode } from "@natter/protocol";
import type { User } from "./group-state.ts";
import type { ChainAppend, UserDirectory } from "./ports.ts";

/** An entry a client sent, parsed (its shape only: its place in the chain is checked under the lock). */
export interface Submitted {
  readonly entry: ChainEntry;
  readonly hash: string;
}

/** What the verb asked for, which the entry must be: a verb carries no change of its own. */
export type Expected = (op: ChainOp) => boolean;

/** The entry's shape, and that its signer is the acting user. */
export async function submitted(p: Primitives, text: string, actor: User): Promise<Submitted> {
  const parsed = await parseEntry(p, text);
  if (!parsed.ok) throw badEntry(parsed.code, parsed.detail);
  if (parsed.value.entry.by !== actor.userId) throw new NatterError("BAD_ENTRY", "the entry is signed for someone else");
  return parsed.value;
}

/**
 * Every member the entry names carries the identity key auth holds for them now: a
 * client that vouches for a stale or substituted key is refused here too.
 */
export async function keysMatch(users: UserDirectory, op: ChainOp): Promise<void> {
  const named = op.type === "genesis" ? op.members : op.type === "add" || op.type === "join" ? [op.member] : [];
  await Promise.all(named.map(async (m) => {
    const now = await users.resolve(m.username);
    if (now.userId !== m.userId || now.identityKey !== m.identityKey) {
      throw new NatterError("BAD_ENTRY", `the entry names a key for ${m.username} that is not theirs`);
    }
  }));
}

/** Most groups whose state `StoredChains` remembers. */
const MAX_REMEMBERED = 10_000;

/**
 * The states of stored chains, remembered by their length and last entry: a chain only
 * grows, so the same last entry at the same length is the same chain, and a change to a
 * long-lived group costs one signature check rather than one per entry it ever had.
 */
export class StoredChains {
  private readonly states = new Map<string, ChainState>();

  async stateOf(p: Primitives, chain: readonly string[]): Promise<ChainState> {
    const key = `${chain.length}:${chain.at(-1)}`;
    const known = this.states.get(key);
    if (known) return known;
    const stored = await validateChain(p, chain);
    if (!stored.ok) throw new NatterError("INTERNAL", `the stored chain does not validate: ${stored.code}`);
    this.remember(key, stored.value);
    return stored.value;
  }

  /** Remembers the state a chain of `length` entries ending in `last` makes. */
  remember(key: string, state: ChainState): void {
    if (this.states.size >= MAX_REMEMBERED) this.states.clear();
    this.states.set(key, state);
  }
}

/**
 * Appends `s` to the stored chain (its entries as stored, oldest first): the entry must
 * build on the head (else STALE_HEAD: the client fetches and signs again) and follow the
 * chain's rules. Returns the state after it and the row to store.
 */
export async function appendTo(p: Primitives, chain: readonly string[], s: Submitted, stored: StoredChains): Promise<{ state: ChainState; append: ChainAppend }> {
  let before: ChainState | undefined;
  if (chain.length > 0) {
    before = await stored.stateOf(p, chain);
    if (s.entry.prev !== before.head || s.entry.seq !== before.seq + 1) {
      throw new NatterError("STALE_HEAD", undefined, { detail: { seq: before.seq, head: before.head } });
    }
  }
  const text = encodeEntry(s.entry);
  const after = await applyEntry(p, before, text);
  if (!after.ok) throw badEntry(after.code, after.detail);
  stored.remember(`${chain.length + 1}:${text}`, after.value);
  return { state: after.value, append: { groupId: after.value.groupId, seq: s.entry.seq, hash: s.hash, entry: text } };
}

const SAME: Partial<Record<ChainErrorCode, ErrorCode>> = {
  NOT_ADMIN: "NOT_ADMIN",
  NOT_A_MEMBER: "NOT_A_MEMBER",
  ALREADY_A_MEMBER: "ALREADY_A_MEMBER",
  GROUP_CLOSED: "GROUP_CLOSED",
};

function badEntry(code: ChainErrorCode, detail: string): NatterError {
  const same = SAME[code];
  return same ? new NatterError(same) : new NatterError("BAD_ENTRY", `${ERRORS_PREFIX}${code}: ${detail}`);
}

const ERRORS_PREFIX = "the group change is not valid: ";
