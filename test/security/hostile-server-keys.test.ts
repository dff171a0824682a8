/**
 * A hostile server keeps everything it is given during register, login and passwd: every
 * frame through a recording proxy, every NATS message of the run's namespace and every row
 * of auth's tables. With all of it, the key backup must not open (not with the login
 * secret, the stored hash, the salt, a token or anything else, read as a key or as a
 * password), and the password must appear nowhere.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { openKeys } from "../../clients/cli/src/key-backup.ts";
import { derivePasswordKeys } from "../../clients/cli/src/password-keys.ts";
import { run, testPrimitives } from "../../clients/cli/src/testing/harness.ts";
import { CliWorld, PASSWORD } from "../support/cli-world.ts";

/** Every string inside a value, however deep. */
function strings(value: unknown, out: Set<string> = new Set()): Set<string> {
  if (typeof value === "string") out.add(value);
  else if (value instanceof Uint8Array) out.add(Buffer.from(value).toString("utf8"));
  else if (Array.isArray(value)) for (const v of value) strings(v, out);
  else if (typeof value === "object" && value !== null) for (const v of Object.values(value)) strings(v, out);
  return out;
}

describe("a hostile server with everything it received and stored", () => {
  let world: CliWorld;
  let nc: NatsConnection;
  const natsSeen: string[] = [];

  before(async () => {
    world = await CliWorld.start();
    nc = await connect({ servers: world.servers.services.natsUrl.split(",") });
    const sub = nc.subscribe(`${world.servers.services.namespace}.>`);
    void (async () => {
      for await (const m of sub) natsSeen.push(Buffer.from(m.data).toString("utf8"));
    })();
  });
  after(async () => {
    await nc?.drain();
    await world?.stop();
  });

  async function authRows(): Promise<string[]> {
    const pool = new pg.Pool({ connectionString: world.servers.services.databaseUrl });
    try {
      const { rows: tables } = await pool.query<{ table_name: string }>(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'auth' AND table_type = 'BASE TABLE'",
      );
      const out: string[] = [];
      for (const { table_name } of tables) {
        const { rows } = await pool.query<{ row: string }>(`SELECT row_to_json(t)::text AS row FROM auth.${pg.escapeIdentifier(table_name)} t`);
        out.push(...rows.map((r) => r.row));
      }
      return out;
    } finally {
      await pool.end();
    }
  }

  it("cannot open the key backup, and never sees the password, through register, login and passwd", async () => {
    await world.registered("kim", world.recorded);
    const elsewhere = world.path("kim-elsewhere");
    const login = await run(world.recorded, ["--home", elsewhere, "login", "kim", "--password-stdin"], { stdin: `${PASSWORD}\n` });
    assert.equal(login.code, 0, login.err);
    const passwd = await run(world.recorded, ["--home", elsewhere, "passwd", "--password-stdin"], { stdin: `${PASSWORD}\n${NEW_PASSWORD}\n` });
    assert.equal(passwd.code, 0, passwd.err);
    const stale = await run(world.target, ["--home", world.path("kim-stale"), "login", "kim", "--password-stdin"], { stdin: `${PASSWORD}\n` });
    assert.equal(stale.code, 2, "the old password still logs in");
    const restored = await run(world.recorded, ["--home", world.path("kim-third"), "login", "kim", "--password-stdin"], { stdin: `${NEW_PASSWORD}\n` });
    assert.equal(restored.code, 0, restored.err);
    assert.match(restored.out, /restored/);
    await nc.flush();

    const rows = await authRows();
    const frames = [...world.proxy.sent, ...world.proxy.received];
    const held = new Set<string>([...rows, ...natsSeen]);
    for (const s of strings(frames)) held.add(s);
    for (const text of [...rows, ...natsSeen]) for (const s of strings(jsonOrNothing(text))) held.add(s);

    for (const text of held) {
      assert.ok(!text.includes(PASSWORD), "the password reached the server side");
      assert.ok(!text.includes(NEW_PASSWORD), "the new password reached the server side");
    }

    const sent = world.proxy.sent;
    const backups = new Set(sent.flatMap((f) => (f.t === "register" || f.t === "passwd" ? [f.backup] : f.t === "backup" && f.put ? [f.put] : [])));
    for (const row of rows) for (const s of strings(jsonOrNothing(row))) if (s.length > 200 && /^[A-Za-z0-9_-]+$/.test(s)) backups.add(s);
    const salts = new Set(frames.flatMap((f) => (f.t === "salt" && "salt" in f ? [f.salt] : f.t === "register" || f.t === "passwd" ? [f.salt] : [])));
    assert.ok(backups.size >= 3, "register, the restore and passwd each sealed a backup");
    assert.ok(salts.size >= 2, "passwd made a new salt");

    const p = testPrimitives();
    // Public key material is public by design; everything else is also tried as a password.
    const publicKeys = new Set(strings(sent.flatMap((f): unknown[] => (f.t === "register" ? [f.bundle] : f.t === "prekeys" ? [f.add] : []))));
    const candidates = [...held].filter((s) => s.length >= 8 && s.length <= 200);
    const asPasswords = candidates.filter((s) => !publicKeys.has(s));
    assert.ok(asPasswords.length > 10 && asPasswords.length < 400, `${asPasswords.length} candidates`);
    const derived = await Promise.all(asPasswords.flatMap((c) => [...salts].map((salt) => derivePasswordKeys(p, c, salt))));
    const keys = [
      ...candidates.flatMap((c) => asKey(c)),
      ...derived.flatMap((d) => [d.backupKey, ...asKey(d.loginSecret)]),
    ];
    for (const backup of backups) {
      for (const key of keys) await assert.rejects(() => openKeys(p, backup, key), "the backup opened with something the server holds");
    }

    // The check can succeed: the owner's password opens the latest backup.
    const latest = [...sent].reverse().find((f) => f.t === "passwd");
    assert.ok(latest?.t === "passwd");
    const owner = await derivePasswordKeys(p, NEW_PASSWORD, latest.salt);
    assert.ok((await openKeys(p, latest.backup, owner.backupKey)).device);
  });
});

const NEW_PASSWORD = "a different horse staple";

function jsonOrNothing(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** A string read as a 32-byte key, where it is one (base64url, hex or raw). */
function asKey(s: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  const b64 = Buffer.from(s, "base64url");
  if (b64.length === 32) out.push(new Uint8Array(b64));
  if (/^[0-9a-f]{64}$/i.test(s)) out.push(new Uint8Array(Buffer.from(s, "hex")));
  const raw = Buffer.from(s, "utf8");
  if (raw.length === 32) out.push(new Uint8Array(raw));
  return out;
}
