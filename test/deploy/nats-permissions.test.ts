/**
 * The NATS users of deploy/nats/users.conf, on a real nats-server: the committed files are
 * what deploy/nats/permissions.ts renders; each service's user may use its own subjects
 * and no other (an edge cannot listen to auth's verbs, answer for auth, announce as auth
 * or delete a stream); and auth, group, presence and two edges, each started as its own
 * user, carry a message one to one and a file end to end, and take a group message through
 * the fan-out, without the server refusing them a single subject.
 *
 * Starts its own nats-server (NATS_SERVER_BIN, else `nats-server` on PATH or in an sbin
 * folder) on a free loopback port; skips, saying so, where there is none.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Closers, createLogger, loadConfig, natsInboxPrefix } from "@natter/kit";
import { freePort, testServices, type TestServices } from "@natter/kit/testing";
import { loadAuthConfig, startAuth } from "@natter/auth";
import { GroupEnv, startGroup } from "@natter/group";
import { loadPresenceConfig, startPresence } from "@natter/presence";
import { EdgeEnv, startEdge, type RunningEdge } from "@natter/edge";
import { names, type ServerFrame } from "@natter/protocol";
import { generateJwtKeys } from "../../scripts/stack.ts";
import { DEPLOYED_NAMESPACE, NATS_PASSWORD_PATTERN, NATS_USERS, newNatsPassword, passwordVariable, renderUsersConf, USERS_CONF_FILES, type NatsUser } from "../../deploy/nats/permissions.ts";
import { account } from "../support/in-process.ts";
import { RawClient } from "../support/raw-client.ts";
import { root } from "./support.ts";

const n = names(DEPLOYED_NAMESPACE);

describe("deploy/nats/users.conf", () => {
  for (const file of USERS_CONF_FILES) {
    it(`${file} is what deploy/nats/permissions.ts renders (node --import tsx deploy/nats/permissions.ts remakes it)`, async () => {
      const committed = (await readFile(join(root, file), "utf8")).split("\n");
      const rendered = renderUsersConf().split("\n");
      const at = rendered.findIndex((line, i) => committed[i] !== line);
      assert.ok(at < 0 && committed.length === rendered.length, `${file} line ${at + 1}: ${JSON.stringify(committed[at])}, rendered ${JSON.stringify(rendered[at])}`);
    });
  }

  it("gets passwords nats-server reads as the strings they are (a letter, then letters and digits)", () => {
    for (let i = 0; i < 200; i++) assert.match(newNatsPassword(), NATS_PASSWORD_PATTERN);
  });
});

const natsServer = findNatsServer();
if (!natsServer) console.log("# nats-server is not installed (set NATS_SERVER_BIN): the NATS users are not tried on a server");

describe("NATS users on a real nats-server", { skip: natsServer ? false : "nats-server is not installed" }, () => {
  const passwords = Object.fromEntries(NATS_USERS.map((u) => [u, newNatsPassword()])) as Record<NatsUser, string>;
  let server: ChildProcess | undefined;
  let serverLog = "";
  let url = "";
  let scratch = "";
  const open: NatsConnection[] = [];

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), "natter-nats-users-"));
    const port = await freePort();
    url = `nats://127.0.0.1:${port}`;
    // The committed file, included as compose and Kubernetes include it.
    await writeFile(join(scratch, "users.conf"), await readFile(join(root, USERS_CONF_FILES[0]), "utf8"));
    await writeFile(join(scratch, "nats.conf"), [
      `listen: 127.0.0.1:${port}`,
      `jetstream { store_dir: ${JSON.stringify(join(scratch, "js"))} }`,
      "include ./users.conf",
      "",
    ].join("\n"));
    const env = { ...process.env, ...Object.fromEntries(NATS_USERS.map((u) => [passwordVariable(u), passwords[u]])) };
    server = spawn(natsServer!, ["-c", join(scratch, "nats.conf")], { env, stdio: ["ignore", "pipe", "pipe"] });
    server.stdout!.on("data", (chunk: Buffer) => (serverLog += chunk.toString()));
    server.stderr!.on("data", (chunk: Buffer) => (serverLog += chunk.toString()));
    await waitUntil(() => /Server is ready/.test(serverLog), () => `nats-server did not start:\n${serverLog}`);
  });

  after(async () => {
    for (const nc of open) await nc.close().catch(() => undefined);
    if (server && server.exitCode === null) {
      const exited = new Promise((resolve) => server!.once("exit", resolve));
      server.kill("SIGTERM");
      await exited;
    }
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  async function as(user: NatsUser): Promise<NatsConnection> {
    const nc = await connect({ servers: url, user, pass: passwords[user], inboxPrefix: natsInboxPrefix(user), reconnect: false });
    open.push(nc);
    return nc;
  }

  /** What the server refused of `act`, as "publish <subject>" or "subscription <subject>". */
  async function refusals(nc: NatsConnection, act: () => void): Promise<string[]> {
    const seen: string[] = [];
    const status = nc.status();
    const watching = (async () => {
      for await (const s of status) {
        if (s.type === "error" && s.error.name === "PermissionViolationError") {
          const e = s.error as Error & { operation: string; subject: string };
          seen.push(`${e.operation} ${e.subject}`);
        }
      }
    })();
    act();
    await nc.flush();
    await new Promise((resolve) => setTimeout(resolve, 300));
    (status as unknown as { stop(): void }).stop();
    await watching;
    return seen;
  }

  it("refuses a connection without a user, or with another user's password", async () => {
    await assert.rejects(connect({ servers: url, reconnect: false }), /Authorization Violation/i);
    await assert.rejects(connect({ servers: url, user: "edge", pass: passwords.auth, reconnect: false }), /Authorization Violation/i);
  });

  it("keeps an edge from listening to auth's verbs, answering for auth, announcing as auth or deleting a stream", async () => {
    const edge = await as("edge");
    const tries = [
      `subscription ${n.auth("login")}`,
      `subscription ${n.namespace}.svc.auth.*`,
      `subscription ${n.namespace}.>`,
      `subscription _INBOX.>`,
      `subscription ${natsInboxPrefix("group")}.>`,
      `subscription ${n.groupSvc("create")}`,
      `publish ${n.sessionEvents}`,
      `publish ${n.blockEvents}`,
      `publish ${n.groupEvents}`,
      `publish $JS.API.STREAM.DELETE.${n.inboxStream}`,
      `publish $JS.API.STREAM.PURGE.${n.groupStream}`,
      `publish $JS.API.CONSUMER.DELETE.${n.groupStream}.fanout`,
    ];
    for (const attempt of tries) {
      const [operation, subject] = attempt.split(" ") as [string, string];
      const refused = await refusals(edge, () => {
        if (operation === "publish") edge.publish(subject, "{}");
        else edge.subscribe(subject);
      });
      assert.deepEqual(refused, [attempt], `the edge's ${attempt} was not refused`);
    }
  });

  it("lets auth, and only auth, take auth's verbs", async () => {
    const auth = await as("auth");
    assert.deepEqual(await refusals(auth, () => auth.subscribe(n.auth("login"))), []);
    for (const user of ["group", "presence"] as const) {
      const nc = await as(user);
      assert.deepEqual(await refusals(nc, () => nc.subscribe(n.auth("login"))), [`subscription ${n.auth("login")}`], user);
    }
    assert.deepEqual(await refusals(auth, () => auth.subscribe(n.inbox("someone"))), [`subscription ${n.inbox("someone")}`]);
  });

  describe("the services, each as its own user", () => {
    let services: TestServices | undefined;
    const closers = new Closers(createLogger("test", "silent"));
    const edges: RunningEdge[] = [];
    let logFrom = 0;

    before(async () => {
      services = await testServices();
      const logger = createLogger("test", "silent");
      const common = (user: NatsUser) => ({
        NATS_URL: url, DATABASE_URL: services!.databaseUrl, NATTER_NAMESPACE: DEPLOYED_NAMESPACE, NATS_USER: user, NATS_PASSWORD: passwords[user],
      });
      logFrom = serverLog.length;
      const auth = await startAuth(loadAuthConfig({
        ...common("auth"), NODE_ENV: "test", AUTH_BCRYPT_COST: "4", AUTH_JWT_KEYS: await generateJwtKeys(),
      }), { logger });
      closers.push(() => auth.close());
      const group = await startGroup(loadConfig(GroupEnv, common("group")), { logger });
      closers.push(() => group.close());
      const presence = await startPresence(loadPresenceConfig({ ...common("presence"), PRESENCE_WARMUP_MS: "100" }), { logger });
      closers.push(() => presence.close());
      for (let i = 0; i < 2; i++) {
        const { DATABASE_URL: _none, ...edgeEnv } = common("edge");
        const edge = await startEdge(loadConfig(EdgeEnv, { ...edgeEnv, EDGE_PORT: "0", EDGE_DRAIN_MS: "100" }), { logger });
        edges.push(edge);
        closers.push(() => edge.close());
      }
    });

    after(async () => {
      await closers.close();
      await services?.cleanup();
    });

    it("carry a message one to one and a file, and fan out a group message, with no subject refused", async () => {
      const address = (i: number) => `127.0.0.1:${edges[i]!.port}`;
      const alice = await account(address(0));
      const bob = await account(address(1));
      try {
        await bob.client.ok({ t: "receive" });
        const direct = randomUUID();
        await alice.client.ok<"accepted">({ t: "send", msg: { id: direct, to: bob.session.userId, body: new Uint8Array([1]) } });
        const got = await bob.client.next((f) => f.t === "deliver" && f.msg.id === direct);
        bob.client.send({ t: "ack", msgId: direct });

        // The edge stores a group message and the fan-out takes it, looks the group up and
        // answers JetStream (a group nobody made: it is dropped, and nobody gets a copy).
        await alice.client.ok({ t: "gsend", msg: { id: randomUUID(), group: randomUUID(), body: new Uint8Array([2]) } });
        const groupUser = await as("group");
        const gjsm = await jetstreamManager(groupUser);
        await waitFor(async () => {
          const info = await gjsm.consumers.info(n.groupStream, "fanout");
          return info.num_pending === 0 && info.num_ack_pending === 0 && info.delivered.stream_seq > 0;
        }, "the fan-out answered the group message");
        // What the fan-out does for a group that exists: a copy into a member's inbox.
        await jetstream(groupUser).publish(n.inbox(bob.session.userId), new Uint8Array([0]), { msgID: randomUUID() });

        const bytes = new Uint8Array(300_000).map((_, i) => i % 251);
        const { file } = await alice.client.ok<"upload">({ t: "upload", size: bytes.length });
        await alice.client.ok({ t: "chunk", upload: file, data: bytes.subarray(0, 200_000), last: false });
        const stored = await alice.client.ok<"stored">({ t: "chunk", upload: file, data: bytes.subarray(200_000), last: true });
        const back = await download(bob.client, file);

        assert.ok(got.t === "deliver" && got.msg.from === alice.session.userId);
        assert.equal(stored.size, bytes.length);
        assert.deepEqual(back, bytes);
        const refused = serverLog.slice(logFrom).split("\n").filter((line) => /violation/i.test(line));
        assert.deepEqual(refused, [], "nats-server refused the services a subject: deploy/nats/permissions.ts misses it");
      } finally {
        alice.client.close();
        bob.client.close();
      }
    });
  });
});

async function download(client: RawClient, file: string): Promise<Uint8Array> {
  const id = 7001;
  client.send({ t: "download", id, file });
  const parts: Uint8Array[] = [];
  for (;;) {
    const frame: ServerFrame = await client.next((f) => "id" in f && f.id === id);
    if (frame.t !== "data") throw new Error(`download: ${JSON.stringify(frame)}`);
    parts.push(frame.data);
    if (frame.last) break;
  }
  return new Uint8Array(Buffer.concat(parts));
}

function findNatsServer(): string | undefined {
  const given = process.env["NATS_SERVER_BIN"];
  if (given) return given;
  const dirs = [...(process.env["PATH"] ?? "").split(delimiter), "/usr/local/sbin", "/usr/sbin", "/sbin"];
  return dirs.map((dir) => join(dir, "nats-server")).find((path) => existsSync(path));
}

async function waitFor(done: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function waitUntil(done: () => boolean, why: () => string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(why());
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

