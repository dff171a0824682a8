import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { AuthApi, BlockEvent, NatterError, names, parse, type PublicBundle } from "@natter/protocol";
import { call, connectNats, type NatsConnection } from "@natter/kit";
import { quietLogger, testServices, type TestServices } from "@natter/kit/testing";
import { generateSigningKey, loadAuthConfig, startAuth, type RunningAuth } from "../src/index.ts";

const SALT = randomBytes(16).toString("base64url");
const secretOf = (password: string) => createHash("sha256").update(password).digest("base64url");

const b64 = (n = 32) => randomBytes(n).toString("base64url");
const bundle = (): PublicBundle => ({
  v: 1, identityKey: b64(), identityDhKey: b64(), identityDhSignature: b64(64),
  signedPrekey: { id: 1, publicKey: b64(), signature: b64(64) }, oneTimePrekeys: [],
});

describe("blocks and encrypted profiles over NATS", () => {
  let services: TestServices;
  let auth: RunningAuth;
  let nc: NatsConnection;
  let n: ReturnType<typeof names>;
  const events: BlockEvent[] = [];
  const rpc = <K extends keyof typeof AuthApi>(verb: K, req: Parameters<typeof call<(typeof AuthApi)[K]>>[3]) =>
    call(nc, n.auth(verb), AuthApi[verb], req);
  const failure = async (promise: Promise<unknown>) => {
    try {
      await promise;
    } catch (err) {
      assert.ok(err instanceof NatterError, String(err));
      return { code: err.code, message: err.message };
    }
    assert.fail("expected a refusal");
  };
  const register = async (username: string) =>
    (await rpc("register", { username, salt: SALT, secret: secretOf(`${username} password`), bundle: bundle(), backup: b64(100), addr: "p" })).userId;
  /** Waits until `count` block events have arrived (core NATS: they come soon after the reply). */
  const eventsSoon = async (count: number) => {
    for (let i = 0; i < 100 && events.length < count; i++) await new Promise((r) => setTimeout(r, 20));
    return events.slice();
  };

  before(async () => {
    services = await testServices();
    n = names(services.namespace);
    const config = loadAuthConfig({
      NATS_URL: services.natsUrl,
      DATABASE_URL: services.databaseUrl,
      NATTER_NAMESPACE: services.namespace,
      AUTH_JWT_KEYS: JSON.stringify([await generateSigningKey()]),
      AUTH_BCRYPT_COST: "4",
      NODE_ENV: "test",
    });
    auth = await startAuth(config, { logger: quietLogger("auth") });
    nc = await connectNats({ servers: services.natsUrl, name: "privacy-test", logger: quietLogger() });
    nc.subscribe(n.blockEvents, {
      callback: (_err, msg) => {
        events.push(parse(BlockEvent, msg.json()));
      },
    });
    await nc.flush();
  });

  after(async () => {
    await nc?.close();
    await auth?.close();
    await services?.cleanup();
  });

  it("blocks and unblocks, lists both directions and announces each change", async () => {
    const [alice, bob, carol] = [await register("alice"), await register("bob"), await register("carol")];
    assert.deepEqual(await rpc("block", { userId: alice, username: "Bob" }), {});
    assert.deepEqual(await rpc("block", { userId: alice, username: "bob" }), {}, "blocking twice is fine");
    assert.deepEqual(await rpc("block", { userId: carol, username: "bob" }), {});
    assert.deepEqual(await rpc("blocks", { userId: alice }), { blocking: [bob], blockedBy: [] });
    const ofBob = await rpc("blocks", { userId: bob });
    assert.deepEqual({ ...ofBob, blockedBy: ofBob.blockedBy.sort() }, { blocking: [], blockedBy: [alice, carol].sort() });

    assert.deepEqual(await rpc("unblock", { userId: alice, username: "bob" }), {});
    assert.deepEqual(await rpc("unblock", { userId: alice, username: "bob" }), {}, "unblocking twice is fine");
    assert.deepEqual(await rpc("blocks", { userId: bob }), { blocking: [], blockedBy: [carol] });
    assert.deepEqual(await eventsSoon(3), [
      { blocker: alice, blocked: bob, blocking: true },
      { blocker: carol, blocked: bob, blocking: true },
      { blocker: alice, blocked: bob, blocking: false },
    ]);
  });

  it("refuses to block yourself or nobody", async () => {
    const dave = await register("dave");
    const self = await failure(rpc("block", { userId: dave, username: "dave" }));
    assert.equal(self.code, "CANNOT_BLOCK_SELF");
    assert.equal((await failure(rpc("block", { userId: dave, username: "nobody" }))).code, "NO_SUCH_USER");
    assert.equal((await failure(rpc("unblock", { userId: dave, username: "nobody" }))).code, "NO_SUCH_USER");
    assert.deepEqual(await rpc("blocks", { userId: dave }), { blocking: [], blockedBy: [] });
  });

  it("stores an encrypted profile and gives it back to others", async () => {
    const [erin, frank] = [await register("erin"), await register("frank")];
    assert.deepEqual(await rpc("profile", { userId: erin }), { blob: null });
    assert.deepEqual(await rpc("profileOf", { userId: frank, username: "erin" }), { userId: erin, username: "erin", blob: null });
    const blob = b64(48 * 1024);
    assert.deepEqual(await rpc("profile", { userId: erin, put: { blob } }), { blob });
    assert.deepEqual(await rpc("profile", { userId: erin }), { blob });
    assert.deepEqual(await rpc("profileOf", { userId: frank, username: "ERIN" }), { userId: erin, username: "erin", blob });
    const newer = b64(64);
    await rpc("profile", { userId: erin, put: { blob: newer } });
    assert.equal((await rpc("profileOf", { userId: frank, username: "erin" })).blob, newer);
    assert.equal((await failure(rpc("profile", { userId: crypto.randomUUID(), put: { blob } }))).code, "NO_SUCH_USER");
    assert.equal((await failure(rpc("profile", { userId: erin, put: { blob: "not base64url!" } }))).code, "BAD_FRAME");
    assert.equal((await failure(rpc("profile", { userId: erin, put: { blob: "a".repeat(64 * 1024 + 1) } }))).code, "BAD_FRAME");
  });

  it("hides a profile behind a block, both ways, as if the user did not exist", async () => {
    const [gina, hugo] = [await register("gina"), await register("hugo")];
    await rpc("profile", { userId: gina, put: { blob: b64() } });
    await rpc("profile", { userId: hugo, put: { blob: b64() } });
    const missing = await failure(rpc("profileOf", { userId: hugo, username: "nobody" }));
    await rpc("block", { userId: gina, username: "hugo" });
    assert.deepEqual(await failure(rpc("profileOf", { userId: hugo, username: "gina" })), missing, "the blocked cannot see the blocker");
    assert.deepEqual(await failure(rpc("profileOf", { userId: gina, username: "hugo" })), missing, "the blocker cannot see the blocked");
    await rpc("unblock", { userId: gina, username: "hugo" });
    assert.equal((await rpc("profileOf", { userId: hugo, username: "gina" })).userId, gina);
  });
});
