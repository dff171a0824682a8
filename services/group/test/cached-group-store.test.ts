import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { connectNats, type NatsConnection } from "@natter/kit";
import { quietLogger, testServices, type TestServices } from "@natter/kit/testing";
import { names } from "@natter/protocol";
import { CachedGroupStore } from "../src/adapters/nats/cached-group-store.ts";
import type { Member } from "../src/domain/group-state.ts";
import { MemoryGroupStore } from "./fakes.ts";

describe("cached group members (two replicas over one store, real NATS)", () => {
  let services: TestServices;
  let ncA: NatsConnection;
  let ncB: NatsConnection;

  before(async () => {
    services = await testServices();
    const logger = quietLogger("cache-test");
    ncA = await connectNats({ servers: services.natsUrl, name: "replica-a", logger });
    ncB = await connectNats({ servers: services.natsUrl, name: "replica-b", logger });
  });

  after(async () => {
    await ncA?.drain();
    await ncB?.drain();
    await services?.cleanup();
  });

  it("serves members from memory, and drops them on every replica when one changes the group", async () => {
    const n = names(services.namespace);
    const shared = new MemoryGroupStore();
    let reads = 0;
    const counted = Object.assign(Object.create(shared) as MemoryGroupStore, {
      recipients: (id: string) => { reads += 1; return shared.recipients(id); },
    });
    const a = new CachedGroupStore(counted, ncA, n, quietLogger("a"));
    const b = new CachedGroupStore(counted, ncB, n, quietLogger("b"));
    await Promise.all([ncA.flush(), ncB.flush()]);
    const member = (username: string): Member => ({ userId: randomUUID(), username, role: "member", joinedAt: Date.now() });
    const [ann, bob] = [member("ann"), member("bob")];
    const id = randomUUID();
    await b.update("team", async () => ({
      changes: [
        { op: "insertGroup", group: { id, name: "team", closed: false, createdAt: Date.now() } },
        { op: "addMember", groupId: id, member: ann },
        { op: "addMember", groupId: id, member: bob },
      ],
      notices: [],
      result: undefined,
    }));

    assert.deepEqual((await a.recipients(id))?.memberIds, [ann.userId, bob.userId]);
    assert.deepEqual((await a.recipients(id))?.memberIds, [ann.userId, bob.userId]);
    assert.equal(reads, 1, "the second read came from memory");

    await b.update("team", async () => ({ changes: [{ op: "removeMember", groupId: id, userId: bob.userId }], notices: [], result: undefined }));
    const deadline = Date.now() + 5000;
    while ((await a.recipients(id))?.memberIds.includes(bob.userId)) {
      assert.ok(Date.now() < deadline, "replica a still fans out to the removed member");
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.deepEqual((await a.recipients(id))?.memberIds, [ann.userId]);
    a.close();
    b.close();
  });
});
