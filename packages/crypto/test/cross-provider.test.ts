import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decryptAttachment, encryptAttachment, generateAttachmentKey } from "../src/attachment.ts";
import { openBackup, sealBackup } from "../src/backup.ts";
import { DeviceIdentity } from "../src/identity.ts";
import { InboundSenderKeys, OutboundSenderKey } from "../src/sender-keys.ts";
import { Session } from "../src/session.ts";
import { claim, str, text } from "./fixtures.ts";
import { type Provider, providers } from "./providers.ts";

/** Every ordered pair of different providers. */
const pairs: [Provider, Provider][] = providers.flatMap((x) => providers.filter((y) => y !== x).map((y): [Provider, Provider] => [x, y]));

for (const [x, y] of pairs) {
  describe(`what ${x.name} encrypts, ${y.name} decrypts`, () => {
    it("PQXDH and the ratchet, through JSON", async () => {
      const aliceId = await DeviceIdentity.generate(x.p, { oneTimePrekeys: 1 });
      const bobId = await DeviceIdentity.fromJSON(y.p, (await DeviceIdentity.generate(x.p, { oneTimePrekeys: 1 })).toJSON());
      const alice = await Session.initiate(x.p, aliceId, claim(bobId));
      const { session: bob, plaintext } = await Session.accept(y.p, bobId, await alice.encrypt(text("first")));
      assert.equal(str(plaintext), "first");
      const late = await alice.encrypt(text("late"));
      assert.equal(str(await alice.decrypt(await bob.encrypt(text("reply")))), "reply");
      const bob2 = Session.fromJSON(x.p, JSON.parse(JSON.stringify(bob)));
      assert.equal(str(await bob2.decrypt(late)), "late");
      assert.equal(str(await bob2.decrypt(await alice.encrypt(text("again")))), "again");
    });

    it("sender keys", async () => {
      const out = await OutboundSenderKey.create(x.p, "g");
      const inbound = await InboundSenderKeys.fromDistribution(y.p, out.distribution());
      assert.equal(str(await inbound.decrypt(await out.encrypt(text("group")))), "group");
    });

    it("attachments", async () => {
      const key = generateAttachmentKey(x.p);
      const data = x.p.randomBytes(200_000);
      const enc = encryptAttachment(x.p, key, (async function* () { yield data; })(), { chunkSize: 4096 });
      const chunks: Uint8Array[] = [];
      for await (const c of enc.ciphertext) chunks.push(c);
      const out: Uint8Array[] = [];
      for await (const c of decryptAttachment(y.p, key, enc.digest(), (async function* () { yield* chunks; })())) out.push(c);
      assert.deepEqual(new Uint8Array(Buffer.concat(out)), data);
    });
  });
}

describe("backups across providers", () => {
  // A ring (each provider opens what the one before it sealed): PBKDF2 is slow on purpose.
  providers.forEach((x, i) => {
    const y = providers[(i + 1) % providers.length]!;
    it(`a blob sealed by ${x.name} opens with ${y.name}`, async () => {
      const blob = await sealBackup(x.p, text("keys"), "pw");
      assert.equal(str(await openBackup(y.p, blob, "pw")), "keys");
    });
  });
});
