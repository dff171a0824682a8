/**
 * Who is in a group is what its admins signed, whatever the server says. The server here
 * is a fake of the client's edge (`MemoryEdge`, which checks changes as the group service
 * does) with a liar in front of one client, lying the way one who runs the real services
 * could: it lists a member nobody added, announces an arrival nobody signed, passes on a
 * non-member's message, serves a change signed by a member who may not make it, replays
 * an old `add` after a `remove`, withholds the latest change from a client that saw it,
 * hands out another key or account for a member, and shows two members different
 * histories. In each, no sender key reaches the one smuggled in, and the user is warned
 * (or the send is refused).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DeviceIdentity, makeEntry, parseEntry, validateChain } from "@natter/crypto";
import type { InboxMessage } from "@natter/protocol";
import { CliError } from "../../clients/cli/src/errors.ts";
import type { EdgeApi } from "../../clients/cli/src/messaging/edge-api.ts";
import { MessagingPeers, type Peer } from "../../clients/cli/src/testing/messaging-peers.ts";

type Chain = Awaited<ReturnType<EdgeApi["chain"]>>;
type Members = Awaited<ReturnType<EdgeApi["members"]>>;

/** What the liar changes of the honest answers (nothing while a field is unset). */
interface Lies {
  chain?: (real: Chain, after: number) => Chain;
  members?: (real: Members) => Members;
  groupChange?: EdgeApi["groupChange"];
}

function lying(lies: Lies): (honest: EdgeApi) => EdgeApi {
  return (honest) => ({
    ...honest,
    chain: async (name, after) => {
      if (!lies.chain) return honest.chain(name, after);
      return lies.chain(await honest.chain(name, -1), after);
    },
    members: async (name) => {
      const real = await honest.members(name);
      return lies.members ? lies.members(real) : real;
    },
    groupChange: (req) => (lies.groupChange ?? honest.groupChange)(req),
  });
}

/** A chain answer made of `entries`, from `after` on, with their last as the head. */
async function served(peers: MessagingPeers, real: Chain, entries: string[], after: number): Promise<Chain> {
  const last = await parseEntry(peers.p, entries.at(-1)!);
  assert.ok(last.ok);
  return { ...real, head: { seq: last.value.entry.seq, hash: last.value.hash }, entries: entries.slice(after + 1), more: false };
}

const text = (t: string) => ({ type: "text", text: t, sentAt: Date.now() }) as const;

describe("a hostile server against group membership", () => {
  const peers = new MessagingPeers();
  const { drain } = peers;

  /** The 1:1 messages from `from` waiting for `to`: a sender key hand-over is one of them. */
  const directFrom = (to: Peer, from: Peer): InboxMessage[] => peers.edge.inbox(to.userId).filter((m) => m.from === from.userId && !m.group && !m.event);
  const warnings = (p: Peer): string[] => p.notices.flatMap((n) => (n.kind === "group-warning" ? [n.text] : []));
  const withGhost = (ghost: Peer) => (real: Members): Members => ({
    ...real, members: [...real.members, { userId: ghost.userId, username: ghost.name, role: "member", joinedAt: 99 }],
  });

  it("lists a member no admin added: the ghost gets no sender key, and the user is told who was claimed", async () => {
    const mallory = await peers.peer("mallory1");
    const alice = await peers.peer("alice1", { edge: lying({ members: withGhost(mallory) }) });
    const bob = await peers.peer("bob1");
    await alice.messenger.changeGroup("create", "team1", { members: ["bob1"] });
    await alice.messenger.sendGroup("team1", text("secret"));
    assert.deepEqual(directFrom(mallory, alice), [], "no sender key reaches the ghost");
    assert.deepEqual(warnings(alice), ["the server lists mallory1 in #team1, but no admin added them — ignored"]);
    assert.deepEqual(await drain(bob), ["#team1: created alice1", "#team1 alice1: secret"]);
  });

  it("announces an arrival no admin signed: the event is not shown, and the user is warned", async () => {
    const mallory = await peers.peer("mallory2");
    const alice = await peers.peer("alice2");
    const bob = await peers.peer("bob2");
    const { view } = await alice.messenger.changeGroup("create", "team2", { members: ["bob2"] });
    await drain(bob);
    const forged: InboxMessage = {
      v: 1, id: crypto.randomUUID(), from: alice.userId, fromName: "alice2", body: new Uint8Array(0), sentAt: Date.now(),
      event: { kind: "added", group: { id: view.id, name: "team2" }, user: { id: mallory.userId, name: "mallory2" }, by: { id: alice.userId, name: "alice2" } },
    };
    assert.equal((await bob.messenger.receive(forged)).kind, "dropped");
    assert.deepEqual(warnings(bob), ["the server says mallory2 was added to #team2, but no signed change says so — ignored"]);
  });

  it("delivers a group message from someone outside the group: it is dropped, with a notice", async () => {
    const mallory = await peers.peer("mallory8");
    const alice = await peers.peer("alice8");
    const bob = await peers.peer("bob8");
    const { view } = await alice.messenger.changeGroup("create", "team8", { members: ["bob8"] });
    await drain(bob);
    const outcome = await bob.messenger.receive({
      v: 1, id: crypto.randomUUID(), from: mallory.userId, fromName: "mallory8", body: new Uint8Array([1, 2, 3]), sentAt: Date.now(),
      group: { id: view.id, name: "team8" },
    });
    assert.equal(outcome.kind, "dropped");
    assert.deepEqual(warnings(bob), ["dropped a message in #team8 from mallory8, who is not a member by its signed changes"]);
  });

  it("serves an add signed by a member who is not an admin: it is refused, and the ghost gets no key", async () => {
    const mallory = await peers.peer("mallory3");
    const lies: Lies = {};
    const alice = await peers.peer("alice3", { edge: lying(lies) });
    const bob = await peers.peer("bob3");
    await alice.messenger.changeGroup("create", "team3", { members: ["bob3"] });
    const real = await peers.edge.edgeFor(alice.userId).chain("team3", -1);
    const state = await validateChain(peers.p, real.entries);
    assert.ok(state.ok);
    // Bob is a member but no admin; the server stores and serves his add of mallory.
    const bobDevice = await DeviceIdentity.fromJSON(peers.p, (await bob.home.loggedIn()).device);
    const malloryDevice = await DeviceIdentity.fromJSON(peers.p, (await mallory.home.loggedIn()).device);
    const forged = await makeEntry(peers.p, bobDevice.identityKeyPair.privateKey, state.value, bob.userId, {
      type: "add", member: { userId: mallory.userId, username: "mallory3", identityKey: malloryDevice.identityKey },
    }, Date.now());
    const entries = [...real.entries, forged];
    const fakeChain = await served(peers, real, entries, -1);
    lies.chain = (_r, after) => ({ ...fakeChain, entries: entries.slice(after + 1) });
    lies.members = withGhost(mallory);
    await alice.messenger.sendGroup("team3", text("secret"));
    assert.deepEqual(directFrom(mallory, alice), [], "no sender key reaches the ghost");
    assert.deepEqual(warnings(alice), [
      "refused a change of #team3 the server sent: it is not signed by a member allowed to make it (NOT_ADMIN)",
      "the server lists mallory3 in #team3, but no admin added them — ignored",
    ]);
  });

  it("replays an old add after a remove: refused as another history, and the removed member gets no new key", async () => {
    const mallory = await peers.peer("mallory4");
    const lies: Lies = {};
    const alice = await peers.peer("alice4", { edge: lying(lies) });
    await peers.peer("bob4");
    await alice.messenger.changeGroup("create", "team4", { members: ["bob4"] });
    await alice.messenger.changeGroup("add", "team4", { user: "mallory4" });
    await alice.messenger.changeGroup("remove", "team4", { user: "mallory4" });
    const real = await peers.edge.edgeFor(alice.userId).chain("team4", -1);
    const add = real.entries[1]!;
    const entries = [...real.entries, add];
    const parsedAdd = await parseEntry(peers.p, add);
    assert.ok(parsedAdd.ok);
    const replayed = { ...real, head: { seq: real.head.seq + 1, hash: parsedAdd.value.hash } };
    lies.chain = (_r, after) => ({ ...replayed, entries: entries.slice(after + 1) });
    lies.members = withGhost(mallory);
    peers.edge.clearInbox(mallory.userId);
    await alice.messenger.sendGroup("team4", text("after the removal"));
    assert.deepEqual(directFrom(mallory, alice), [], "no sender key reaches the removed member");
    assert.deepEqual(warnings(alice), [
      "the server shows a different history of #team4 from change 3 than the one seen here",
      "the server lists mallory4 in #team4, but no admin added them — ignored",
    ]);
  });

  it("withholds the latest change from a client that saw it: a rollback is named, and the removed member gets no key", async () => {
    const mallory = await peers.peer("mallory5");
    const lies: Lies = {};
    const alice = await peers.peer("alice5", { edge: lying(lies) });
    await peers.peer("bob5");
    await alice.messenger.changeGroup("create", "team5", { members: ["bob5"] });
    await alice.messenger.changeGroup("add", "team5", { user: "mallory5" });
    await alice.messenger.changeGroup("remove", "team5", { user: "mallory5" });
    const real = await peers.edge.edgeFor(alice.userId).chain("team5", -1);
    const older = real.entries.slice(0, 2);
    const rolledBack = await served(peers, real, older, -1);
    lies.chain = (_r, after) => ({ ...rolledBack, entries: older.slice(after + 1) });
    lies.members = withGhost(mallory);
    peers.edge.clearInbox(mallory.userId);
    await alice.messenger.sendGroup("team5", text("after the removal"));
    assert.deepEqual(directFrom(mallory, alice), [], "no sender key reaches the removed member");
    assert.deepEqual(warnings(alice), [
      "the server shows #team5 at change 1, older than change 2 seen here: it may be withholding changes",
      "the server lists mallory5 in #team5, but no admin added them — ignored",
    ]);
  });

  it("hands an admin another key for a contact pinned here: the add is refused, nothing is signed", async () => {
    const mallory = await peers.peer("mallory7");
    const malloryKey = (await DeviceIdentity.fromJSON(peers.p, (await mallory.home.loggedIn()).device)).identityKey;
    const substitute = { on: false };
    const alice = await peers.peer("alice7", {
      edge: (honest) => ({
        ...honest,
        lookup: async (user) => {
          const real = await honest.lookup(user);
          return substitute.on && user === "carol7" ? { ...real, identityKey: malloryKey } : real;
        },
      }),
    });
    const carol = await peers.peer("carol7");
    await alice.messenger.send("carol7", "hello");
    await drain(carol);
    await alice.messenger.changeGroup("create", "team7");
    substitute.on = true;
    await assert.rejects(alice.messenger.changeGroup("add", "team7", { user: "carol7" }), { code: "IDENTITY_CHANGED" });
    assert.equal(peers.edge.groupState("team7")?.members.length, 1, "nothing was signed or stored");
  });

  it("hands out an impostor's bundle for a member at first contact: the chain's key is held to, and the impostor gets nothing", async () => {
    const mallory = await peers.peer("mallory9");
    const swapped = { on: false };
    const alice = await peers.peer("alice9", {
      edge: (honest) => ({
        ...honest,
        claim: async (user) => {
          if (!swapped.on || user !== "bob9") return honest.claim(user);
          // The server says mallory's account and keys are bob9's.
          return { ...(await honest.claim("mallory9")), username: "bob9" };
        },
      }),
    });
    await peers.peer("bob9");
    await alice.messenger.changeGroup("create", "team9", { members: ["bob9"] });
    swapped.on = true;
    await assert.rejects(alice.messenger.sendGroup("team9", text("secret")), { code: "IDENTITY_CHANGED" });
    assert.deepEqual(directFrom(mallory, alice), [], "no sender key reaches the impostor");
  });

  it("shows two members different histories: the member whose history differs from a sender's is warned", async () => {
    const mallory = await peers.peer("mallory6");
    let kept: string | undefined;
    // Alice's first try at closing is answered "stale" and kept; her retry is stored.
    const toAlice: Lies = {};
    const alice = await peers.peer("alice6", { edge: lying(toAlice) });
    const bobLies: Lies = {};
    const bob = await peers.peer("bob6", { edge: lying(bobLies) });
    await alice.messenger.changeGroup("create", "team6", { members: ["bob6"] });
    const honest = peers.edge.edgeFor(alice.userId);
    toAlice.groupChange = async (req) => {
      if (kept === undefined && req.op === "close") {
        kept = req.entry;
        throw new CliError("STALE_HEAD");
      }
      return honest.groupChange(req);
    };
    await alice.messenger.changeGroup("close", "team6");
    assert.ok(kept);
    const real = await honest.chain("team6", -1);
    const other = [real.entries[0]!, kept];
    const forked = await served(peers, real, other, -1);
    assert.notEqual(forked.head.hash, real.head.hash, "two histories, each signed by the admin");
    bobLies.chain = (_r, after) => ({ ...forked, entries: other.slice(after + 1) });
    bobLies.members = withGhost(mallory);
    await drain(bob);
    await alice.messenger.sendGroup("team6", text("hello"));
    const shown = await drain(bob);
    assert.deepEqual(shown, ["#team6 alice6: hello"]);
    assert.deepEqual(warnings(bob), ["alice6 sees another history of #team6 at change 1 than this device: the server may be showing members different histories"]);
    await bob.messenger.sendGroup("team6", text("reply"));
    assert.deepEqual(directFrom(mallory, bob), [], "no sender key reaches the ghost");
    assert.ok(warnings(bob).includes("the server lists mallory6 in #team6, but no admin added them — ignored"));
  });
});
