/**
 * End to end: the real stack (auth and two edges as processes, real NATS and Postgres)
 * and real `natter` processes, used the way people use them.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import pg from "pg";
import { SignJWT, UnsecuredJWT, generateKeyPair, importJWK, type JWK } from "jose";
import { names } from "@natter/protocol";
import { startFixture, type Fixture } from "../support/stack-fixture.ts";
import { Listener, natter, newHome } from "../support/cli.ts";
import { RawClient } from "../support/raw-client.ts";
import { derivePasswordKeys } from "../../clients/cli/src/password-keys.ts";
import { testPrimitives } from "../../clients/cli/src/testing/harness.ts";

const PASSWORD = "correct horse battery";
const LOCK_SECONDS = 10;
let fx: Fixture;
const secrets: string[] = [];
/** Tokens the servers handed out: none may reach a log. */
const issued: string[] = [];

function text(label: string): string {
  const t = `${label} ${Math.random().toString(36).slice(2)} secret-plaintext`;
  secrets.push(t);
  return t;
}

async function register(name: string, servers = fx.stack.servers): Promise<string> {
  const home = newHome();
  const result = await natter(home, servers, ["register", name, "--password-stdin"], { stdin: `${PASSWORD}\n` });
  assert.equal(result.code, 0, `register ${name}: ${result.stderr}`);
  return home;
}

async function send(home: string, to: string, message: string, servers = fx.stack.servers) {
  const result = await natter(home, servers, ["send", to, message]);
  assert.equal(result.code, 0, `send: ${result.stderr}`);
  return result;
}

async function receive(home: string, servers = fx.stack.servers, wait = "2") {
  const result = await natter(home, servers, ["receive", "--wait", wait]);
  assert.equal(result.code, 0, `receive: ${result.stderr}`);
  return result.json.filter((line) => line["type"] === "text");
}

before(async () => {
  // Long enough that a lock outlives the start of the next natter process on a busy machine.
  fx = await startFixture({ env: { AUTH_LOCK_SECONDS: String(LOCK_SECONDS) } });
});

after(async () => {
  await fx?.stop();
});

describe("one-to-one chat", () => {
  it("lets alice and bob chat both ways", async () => {
    const alice = await register("alice");
    const bob = await register("bob");
    const hello = text("hello bob");
    await send(alice, "bob", hello);
    const got = await receive(bob);
    assert.equal(got.length, 1);
    assert.equal(got[0]!["from"], "alice");
    assert.equal(got[0]!["text"], hello);
    assert.equal(typeof got[0]!["id"], "string");

    const reply = text("hi alice");
    await send(bob, "alice", reply);
    const back = await receive(alice);
    assert.deepEqual(back.map((m) => [m["from"], m["text"]]), [["bob", reply]]);

    assert.deepEqual(await receive(bob, fx.stack.servers, "1"), [], "nothing is shown twice");
  });

  it("keeps messages for someone offline and hands them over in order on the other edge", async () => {
    const [first, second] = fx.stack.edges.map((e) => e.address);
    const carol = await register("carol", first);
    const dave = await register("dave", second);
    const sent: string[] = [];
    for (let i = 0; i < 5; i++) {
      sent.push(text(`offline ${i}`));
      await send(carol, "dave", sent[i]!, first);
    }
    await assertNoPlaintextStored();
    const got = await receive(dave, second);
    assert.deepEqual(got.map((m) => m["text"]), sent);
  });

  it("loses no accepted message and shows none twice when the receiver's edge is killed", async () => {
    const [first, second] = fx.stack.edges.map((e) => e.address);
    const erin = await register("erin", second);
    const frank = await register("frank", first);
    const listener = new Listener(frank, `${first},${second}`);
    try {
      const sent: string[] = [];
      for (let i = 0; i < 6; i++) {
        sent.push(text(`stream ${i}`));
        await send(erin, "frank", sent[i]!, second);
        if (i === 2) {
          await listener.waitFor((l) => l["type"] === "text", 3);
          fx.stack.edges[0]!.child.kill("SIGKILL");
          await fx.stack.edges[0]!.exited;
        }
      }
      const lines = await listener.waitFor((l) => l["type"] === "text", sent.length, 45_000);
      await new Promise((r) => setTimeout(r, 1000));
      const texts = listener.lines.filter((l) => l["type"] === "text").map((l) => l["text"]);
      assert.deepEqual(texts, sent, "every message once, in order");
      assert.equal(new Set(lines.map((l) => l["id"])).size, sent.length);
    } finally {
      await listener.stop();
      await fx.stack.restartEdge(0);
    }
  });
});

describe("accounts", () => {
  it("locks an account after three wrong passwords, then lets it in again", async () => {
    await register("grace");
    const home = newHome();
    for (let i = 0; i < 3; i++) {
      const wrong = await natter(home, fx.stack.servers, ["login", "grace", "--password-stdin"], { stdin: "not the password\n" });
      assert.equal(wrong.code, 2);
    }
    const locked = await natter(home, fx.stack.servers, ["login", "grace", "--password-stdin"], { stdin: `${PASSWORD}\n` });
    assert.equal(locked.code, 2);
    assert.match(locked.stderr, /ACCOUNT_LOCKED|too many failed logins/);
    await new Promise((r) => setTimeout(r, LOCK_SECONDS * 1000 + 200));
    const open = await natter(home, fx.stack.servers, ["login", "grace", "--password-stdin"], { stdin: `${PASSWORD}\n` });
    assert.equal(open.code, 0, open.stderr);
  });

  it("refuses a second password login while connected, and --takeover ends the other session", async () => {
    const heidi = await register("heidi");
    const listener = new Listener(heidi, fx.stack.servers);
    try {
      await waitUntilReceiving(listener);
      const elsewhere = newHome();
      const refused = await natter(elsewhere, fx.stack.servers, ["login", "heidi", "--password-stdin"], { stdin: `${PASSWORD}\n` });
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /ALREADY_CONNECTED|connected elsewhere/);
      const taken = await natter(elsewhere, fx.stack.servers, ["login", "heidi", "--password-stdin", "--takeover"], { stdin: `${PASSWORD}\n` });
      assert.equal(taken.code, 0, taken.stderr);
      assert.equal(await listener.exited, 2, "the old session ends as an auth failure");
      const oldSend = await natter(heidi, fx.stack.servers, ["send", "alice", "from the old home"]);
      assert.equal(oldSend.code, 2, "the old home's session is over");
    } finally {
      await listener.stop();
    }
  });

  it("refuses tokens signed by another key, expired ones and alg none", async () => {
    const client = await RawClient.connect(fx.stack.edges[0]!.address);
    try {
      const { salt } = await client.ok<"salt">({ t: "salt", username: "alice" });
      const { loginSecret } = await derivePasswordKeys(testPrimitives(), PASSWORD, salt);
      const session = await client.ok<"session">({ t: "login", username: "alice", secret: loginSecret, takeover: true });
      issued.push(session.token, session.refresh);
      const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
      const claims = { name: "alice", sid: "00000000-0000-4000-8000-000000000000" };
      const forged = await new SignJWT(claims).setProtectedHeader({ alg: "EdDSA", kid: "rogue" })
        .setSubject(session.userId).setIssuer("natter").setAudience("natter").setExpirationTime("10m").sign(privateKey);
      const none = new UnsecuredJWT(claims).setSubject(session.userId).setIssuer("natter").setAudience("natter").setExpirationTime("10m").encode();
      for (const token of [forged, none]) {
        const fresh = await RawClient.connect(fx.stack.edges[0]!.address);
        const reply = await fresh.request({ t: "resume", token });
        assert.equal(reply.t === "error" && reply.code, "TOKEN_INVALID");
        fresh.close();
      }
      const [real] = JSON.parse(fx.jwtKeys) as Array<JWK & { kid: string }>;
      const expired = await new SignJWT({ ...claims, sid: sidOf(session.token) }).setProtectedHeader({ alg: "EdDSA", kid: real!.kid })
        .setSubject(session.userId).setIssuer("natter").setAudience("natter")
        .setIssuedAt(Math.floor(Date.now() / 1000) - 3600).setExpirationTime(Math.floor(Date.now() / 1000) - 60)
        .sign(await importJWK(real!, "EdDSA"));
      const fresh = await RawClient.connect(fx.stack.edges[0]!.address);
      const reply = await fresh.request({ t: "resume", token: expired });
      assert.equal(reply.t === "error" && reply.code, "TOKEN_EXPIRED");
      fresh.close();
    } finally {
      client.close();
    }
  });
});

describe("what the servers keep", () => {
  it("holds no message text in Postgres, JetStream or the logs", async () => {
    await assertNoPlaintextStored();
    const logs = fx.logs.join("\n");
    for (const secret of secrets) assert.ok(!logs.includes(secret), "a message text reached a log");
    assert.ok(!logs.includes(PASSWORD), "a password reached a log");
    for (const token of issued) assert.ok(!logs.includes(token), "a token reached a log");
    for (const key of JSON.parse(fx.jwtKeys) as Array<{ d: string }>) assert.ok(!logs.includes(key.d), "a signing key reached a log");
    assert.ok(fx.logs.length > 0, "the services' logs were captured");
  });
});

async function waitUntilReceiving(listener: Listener): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (listener.lines.some((l) => l["status"] === "listening")) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`listen did not start: ${listener.stderr.join(" | ")}`);
}

function sidOf(token: string): string {
  return (JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as { sid: string }).sid;
}

async function assertNoPlaintextStored(): Promise<void> {
  const client = new pg.Client({ connectionString: fx.services.databaseUrl });
  await client.connect();
  try {
    const { rows: tables } = await client.query<{ schema: string; name: string }>(
      "SELECT table_schema AS schema, table_name AS name FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema')",
    );
    for (const { schema, name } of tables) {
      const { rows } = await client.query(`SELECT t::text AS row FROM "${schema}"."${name}" t`);
      const dump = rows.map((r: { row: string }) => r.row).join("\n");
      for (const secret of [...secrets, PASSWORD]) assert.ok(!dump.includes(secret), `${schema}.${name} holds plaintext`);
    }
  } finally {
    await client.end();
  }
  const nc = await connect({ servers: fx.services.natsUrl });
  try {
    const jsm = await jetstreamManager(nc);
    const stream = names(fx.services.namespace).inboxStream;
    const info = await jsm.streams.info(stream);
    for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
      const message = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
      if (!message) continue;
      const raw = Buffer.from(message.data).toString("latin1");
      for (const secret of secrets) assert.ok(!raw.includes(secret), "the inbox stream holds plaintext");
    }
  } finally {
    await nc.close();
  }
}
