import {
  DeviceIdentity, applyEntry, chainMember, headRelation, makeEntry, membershipDifference, parseEntry, toBase64url,
  type ChainMemberRef, type ChainOp, type ChainState, type Primitives,
} from "@natter/crypto";
import type { GroupView } from "@natter/protocol";
import { CliError } from "../errors.ts";
import { identityChanged } from "./contacts.ts";
import type { GroupFile, HomeStore } from "../home-store.ts";
import type { LockedHome } from "../locked-home.ts";
import type { EdgeApi, GroupChangeOp } from "./edge-api.ts";

type ChainPage = Awaited<ReturnType<EdgeApi["chain"]>>;
import { parseGroupName } from "./names.ts";
import type { Notice } from "./notice.ts";

export interface GroupChainsDeps {
  p: Primitives;
  home: HomeStore;
  edge: EdgeApi;
  now(): number;
  notice(n: Notice): void;
}

/** A group as its verified chain makes it. */
export interface VerifiedGroup {
  readonly id: string;
  readonly name: string;
  readonly state: ChainState;
  /** The hash of each entry, by seq. */
  readonly hashes: readonly string[];
}

/** A change made: the group as the server answered, and as my chain now verifies it (not after I left). */
export interface GroupChanged {
  readonly view: GroupView;
  readonly verified?: VerifiedGroup;
}

/** Past the end of any chain: a `chain` request for the head alone. */
const HEAD_ONLY = 2 ** 31 - 1;
const ATTEMPTS = 3;

/**
 * Each group's membership as this device has verified it: a chain of changes, each signed
 * by the member allowed to make it (see @natter/crypto's group chain). The chain is kept
 * in the group's file; what the server sends is checked entry by entry on top of it and
 * only then believed. A server that shows an older head (rollback), another history
 * (fork), a change with no valid entry, or a member list the chain does not make, gets a
 * warning naming what it claimed, and changes nothing here.
 */
export class GroupChains {
  /** Verified states by group id, while the stored chain is the same (checking signatures again costs). */
  private readonly cache = new Map<string, { count: number; last: string | undefined; verified: VerifiedGroup | undefined }>();

  constructor(private readonly deps: GroupChainsDeps) {}

  /** Brings my chain of `name` up to the server's, checking every entry. */
  async sync(name: string): Promise<VerifiedGroup> {
    const head = await this.deps.edge.chain(parseGroupName(name), HEAD_ONLY);
    return this.deps.home.withLock((locked) => this.syncLocked(locked, head.group, head));
  }

  /**
   * `sync` for a group whose id is known, under the lock already held (`known`: a page
   * of the chain just fetched, which spares asking again when it shows the head I have).
   */
  async syncLocked(home: LockedHome, group: { id: string; name: string }, known?: ChainPage): Promise<VerifiedGroup> {
    const file = await home.group(group.id);
    const mine = await this.local(home, group.id);
    let state = mine?.state;
    const hashes = [...(mine?.hashes ?? [])];
    const entries = (file?.chain ?? []).slice(0, hashes.length);
    let warned = false;
    const warn = (text: string) => {
      warned = true;
      this.deps.notice({ kind: "group-warning", group: group.name, text });
    };
    let after = state ? state.seq : -1;
    let claimed = after;
    for (let first = true; ; first = false) {
      const reuse = first && known && known.entries.length === 0 && headRelation(hashes, { seq: known.head.seq, head: known.head.hash }).kind !== "ahead";
      const page = reuse ? known : await this.deps.edge.chain(group.name, after);
      if (page.group.id !== group.id) throw new CliError("BAD_ENTRY", `the server answers for #${group.name} with another group`);
      const relation = headRelation(hashes, { seq: page.head.seq, head: page.head.hash });
      claimed = Math.max(claimed, page.head.seq);
      if (relation.kind === "rollback") {
        warn(`the server shows #${group.name} at change ${page.head.seq}, older than change ${relation.mine} seen here: it may be withholding changes`);
        break;
      }
      if (relation.kind === "fork") {
        warn(`the server shows a different history of #${group.name} from change ${relation.at} than the one seen here`);
        break;
      }
      if (relation.kind === "same") break;
      let refused = false;
      for (const entry of page.entries) {
        const r = await applyEntry(this.deps.p, state, entry);
        if (!r.ok) {
          warn(r.code === "BAD_LINK" || r.code === "BAD_SEQ"
            ? `the server shows a different history of #${group.name} from change ${hashes.length} than the one seen here`
            : `refused a change of #${group.name} the server sent: it is not signed by a member allowed to make it (${r.code})`);
          refused = true;
          break;
        }
        await this.checkPins(home, group.name, state, entry);
        state = r.value;
        hashes.push(r.value.head);
        entries.push(entry);
      }
      if (refused || !page.more || page.entries.length === 0) break;
      after = state!.seq;
    }
    if (!warned && state && claimed > state.seq) {
      warn(`the server shows #${group.name} at change ${claimed} but sends the changes only up to ${state.seq}: it may be withholding them`);
    }
    if (!state) throw new CliError("BAD_ENTRY", `#${group.name} has no valid signed membership`);
    if (state.groupId !== group.id) throw new CliError("BAD_ENTRY", `the chain of #${group.name} belongs to another group`);
    if (entries.length !== (file?.chain ?? []).length) await home.writeGroup({ ...(file ?? emptyGroup(group)), name: state.name, chain: entries });
    return { id: group.id, name: state.name, state, hashes };
  }

  /** My verified chain of a group as stored here, without asking the server (undefined when there is none). */
  async local(home: LockedHome, groupId: string): Promise<VerifiedGroup | undefined> {
    const file = await home.group(groupId);
    const chain = file?.chain ?? [];
    const cached = this.cache.get(groupId);
    if (cached && cached.count === chain.length && cached.last === chain.at(-1)) return cached.verified;
    const { state, hashes } = await replay(this.deps.p, chain);
    const verified = state && file ? { id: groupId, name: state.name, state, hashes } : undefined;
    this.cache.set(groupId, { count: chain.length, last: chain.at(-1), verified });
    return verified;
  }

  /** The signer and op of each change of my verified chain of `v`, oldest first. */
  async changes(home: LockedHome, v: VerifiedGroup): Promise<Array<{ by: string; op: ChainOp }>> {
    const stored = ((await home.group(v.id))?.chain ?? []).slice(0, v.hashes.length);
    const out: Array<{ by: string; op: ChainOp }> = [];
    for (const text of stored) {
      const parsed = await parseEntry(this.deps.p, text);
      if (parsed.ok) out.push({ by: parsed.value.entry.by, op: parsed.value.entry.op });
    }
    return out;
  }

  /** `syncLocked`, or undefined when the server will not show me the chain (I am not a member, or there is no such group). */
  async trySync(home: LockedHome, group: { id: string; name: string }): Promise<VerifiedGroup | undefined> {
    try {
      return await this.syncLocked(home, group);
    } catch (err) {
      if (err instanceof CliError && ["NOT_A_MEMBER", "GROUP_CLOSED", "NO_SUCH_GROUP", "BAD_ENTRY"].includes(err.code)) return undefined;
      throw err;
    }
  }

  /**
   * Warns when a new entry's signer, or a member it names, has another identity key than
   * the one pinned here for them: an admin vouched for a key this device has not (a new
   * device, or someone fooled). The 1:1 sessions still go only to the pinned key.
   */
  private async checkPins(home: LockedHome, name: string, before: ChainState | undefined, entry: string): Promise<void> {
    const pins = await home.contacts();
    const parsed = await parseEntry(this.deps.p, entry);
    if (!parsed.ok) return;
    const { op, by } = parsed.value.entry;
    const signer = before ? chainMember(before, by) : undefined;
    const named = op.type === "genesis" ? op.members : op.type === "add" || op.type === "join" ? [op.member] : [];
    const seen = [...named, ...(signer ? [signer] : [])];
    for (const m of seen) {
      const pin = pins[m.userId];
      if (pin && pin.identityKey !== m.identityKey) {
        this.deps.notice({ kind: "group-warning", group: name, text: `a change of #${name} names a key for ${m.username} that is not the one pinned here (compare safety numbers: natter verify ${m.username})` });
      }
    }
  }

  /**
   * Compares the member list the server reports with the verified one, and warns of every
   * member it adds or leaves out without an entry.
   */
  async checkMembers(verified: VerifiedGroup): Promise<void> {
    const { members } = await this.deps.edge.members(verified.name);
    const diff = membershipDifference(verified.state, members);
    for (const ghost of diff.unverified) {
      this.deps.notice({ kind: "group-warning", group: verified.name, text: `the server lists ${ghost.username} in #${verified.name}, but no admin added them — ignored` });
    }
    for (const left of diff.missing) {
      this.deps.notice({ kind: "group-warning", group: verified.name, text: `the server leaves ${left.username} out of #${verified.name}, but no entry removed them` });
    }
  }

  /**
   * Makes a change of a group: signs the entry for it on my verified chain and sends it
   * with the command; rebuilt on the new head when someone else's change came first.
   */
  async change(op: GroupChangeOp, groupName: string, args: { user?: string; members?: string[] } = {}): Promise<GroupChanged> {
    const name = parseGroupName(groupName);
    const me = await this.deps.home.loggedIn();
    const device = await DeviceIdentity.fromJSON(this.deps.p, me.device);
    const self: ChainMemberRef = { userId: me.userId, username: me.username, identityKey: device.identityKey };
    for (let attempt = 0; ; attempt++) {
      const verified = op === "create" ? undefined : await this.syncOrNone(name, op);
      const chainOp = await this.opFor(op, name, self, verified?.state, args);
      const entry = await makeEntry(this.deps.p, device.identityKeyPair.privateKey, verified?.state, me.userId, chainOp, this.deps.now());
      try {
        const view = await this.deps.edge.groupChange({ op, name, entry, ...args });
        const gone = op === "leave" || chainOp.type === "leave";
        return { view, ...(gone ? {} : { verified: await this.sync(name) }) };
      } catch (err) {
        const retry = err instanceof CliError && (err.code === "STALE_HEAD" || (err.code === "GROUP_NAME_TAKEN" && op === "join"));
        if (!retry || attempt + 1 >= ATTEMPTS) throw err;
      }
    }
  }

  private async syncOrNone(name: string, op: GroupChangeOp): Promise<VerifiedGroup | undefined> {
    try {
      return await this.sync(name);
    } catch (err) {
      // Joining a group nobody has made yet makes it.
      if (op === "join" && err instanceof CliError && err.code === "NO_SUCH_GROUP") return undefined;
      throw err;
    }
  }

  private async opFor(op: GroupChangeOp, name: string, self: ChainMemberRef, state: ChainState | undefined, args: { user?: string; members?: string[] }): Promise<ChainOp> {
    const genesis = (others: ChainMemberRef[]): ChainOp => ({
      type: "genesis", name, open: true, nonce: toBase64url(this.deps.p.randomBytes(16)),
      members: [{ ...self, admin: true }, ...others.map((m) => ({ ...m, admin: false }))],
    });
    const target = async () => this.lookup(need(args.user));
    switch (op) {
      case "create": {
        const names = [...new Set(args.members ?? [])];
        const others = (await Promise.all(names.map((n) => this.lookup(n)))).filter((m) => m.userId !== self.userId);
        return genesis(others.filter((m, i) => others.findIndex((o) => o.userId === m.userId) === i));
      }
      case "join":
        return state ? { type: "join", member: self } : genesis([]);
      case "add":
        return { type: "add", member: await target() };
      case "remove": {
        const t = await target();
        return t.userId === self.userId ? { type: "leave" } : { type: "remove", userId: t.userId };
      }
      case "admin":
        return { type: "promote", userId: (await target()).userId };
      case "leave":
        return { type: "leave" };
      case "close":
        return { type: "close" };
    }
  }

  /** A user as I vouch for them in an entry: the key the server gives must be the one pinned here, if any. */
  private async lookup(username: string): Promise<ChainMemberRef> {
    const u = await this.deps.edge.lookup(username);
    const pin = (await this.deps.home.readContacts())[u.userId];
    if (pin && (pin.identityKey !== u.identityKey || pin.changed)) throw identityChanged(pin.username);
    return { userId: u.userId, username: u.username, identityKey: u.identityKey };
  }
}

/** Whether `userId` is a member of the verified group. */
export function isVerifiedMember(v: VerifiedGroup | undefined, userId: string): boolean {
  return v !== undefined && chainMember(v.state, userId) !== undefined;
}

/** My stored chain, checked again: its state and the hash of each entry. */
async function replay(p: Primitives, entries: readonly string[]): Promise<{ state: ChainState | undefined; hashes: string[] }> {
  let state: ChainState | undefined;
  const hashes: string[] = [];
  for (const entry of entries) {
    const r = await applyEntry(p, state, entry);
    if (!r.ok) break;
    state = r.value;
    hashes.push(r.value.head);
  }
  return { state, hashes };
}

function need(user: string | undefined): string {
  if (user === undefined || user === "") throw new CliError("USAGE", "this group command needs a user");
  return user;
}

function emptyGroup(group: { id: string; name: string }): GroupFile {
  return { v: 1, id: group.id, name: group.name, sentTo: {}, rotate: false, inbound: {} };
}
