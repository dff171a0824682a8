/**
 * Looks into the real services of one test run over NATS — asking them through their own
 * verbs, reading their JetStream streams and object store — and makes the few things
 * happen that no client can make happen on its own (a file expiring, a backup from before
 * a feature existed).
 */
import { randomUUID } from "node:crypto";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { Objm, type ObjectStore } from "@nats-io/obj";
import { serviceCall, type ServiceCall } from "@natter/kit";
import { AuthApi, PresenceApi, names, type Names, type WhoEntry } from "@natter/protocol";
import { until } from "../../clients/cli/src/testing/harness.ts";
import type { Servers } from "./in-process.ts";

/** A NATS connection into one test run's namespace, with the questions tests ask of it. */
export class ServerProbe {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly n: Names,
    private readonly jsm: JetStreamManager,
    private readonly files: ObjectStore,
    private readonly auth: ServiceCall<typeof AuthApi>,
    private readonly presence: ServiceCall<typeof PresenceApi>,
    private readonly servers: Servers,
  ) {}

  static async open(servers: Servers): Promise<ServerProbe> {
    const nc = await connect({ servers: servers.services.natsUrl.split(","), name: "natter-test-probe" });
    const n = names(servers.services.namespace);
    try {
      return new ServerProbe(
        nc,
        n,
        await jetstreamManager(nc),
        await new Objm(nc).open(n.attachments),
        serviceCall(nc, AuthApi, (verb) => n.auth(verb)),
        serviceCall(nc, PresenceApi, (verb) => n.presence(verb)),
        servers,
      );
    } catch (error) {
      await nc.close();
      throw error;
    }
  }

  async userId(username: string): Promise<string> {
    return (await this.auth("user", { username })).userId;
  }

  /** The one-time prekeys auth holds for the user. */
  async prekeyCount(username: string): Promise<number> {
    return (await this.auth("prekeys", { userId: await this.userId(username), add: [] })).count;
  }

  /** How many one-time ML-KEM prekeys auth holds for the user, and whether it holds a last-resort one. */
  async kemPrekeys(username: string): Promise<{ kemCount: number; kemLastResort: boolean }> {
    const { kemCount, kemLastResort } = await this.auth("prekeys", { userId: await this.userId(username), add: [] });
    return { kemCount, kemLastResort };
  }

  /** The user's profile as auth stores it (ciphertext, base64url), null when none. */
  async profileBlob(username: string): Promise<string | null> {
    return (await this.auth("profile", { userId: await this.userId(username) })).blob;
  }

  /** Replaces the user's key backup on the server. */
  async putBackup(username: string, backup: string): Promise<void> {
    await this.auth("backup", { userId: await this.userId(username), put: backup });
  }

  /** `who` as presence answers the user. */
  async who(username: string, lastHour = false): Promise<WhoEntry[]> {
    return (await this.presence("who", { userId: await this.userId(username), lastHour })).users;
  }

  /**
   * How many messages wait in the user's inbox stream once acks in flight have landed (an
   * ack reaches JetStream a moment after the client sent it): asks until none wait or
   * `ms` pass, and answers the last count.
   */
  async waitingAfterAcks(username: string, ms = 5_000): Promise<number> {
    const subject = this.n.inbox(await this.userId(username));
    const deadline = Date.now() + ms;
    for (;;) {
      const info = await this.jsm.streams.info(this.n.inboxStream, { subjects_filter: subject });
      const count = info.state.subjects?.[subject] ?? 0;
      if (count === 0 || Date.now() > deadline) return count;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /**
   * Waits until the group service has copied every group message into its members'
   * inboxes: it takes a message off the GROUPS work queue only once every copy is stored.
   */
  async fannedOut(ms = 10_000): Promise<void> {
    await until(async () => (await this.jsm.streams.info(this.n.groupStream)).state.messages === 0, ms, "group fan-out");
  }

  /** Waits until presence lists online exactly the users connected to the edges now. */
  async presenceSettled(ms = 10_000): Promise<void> {
    await until(async () => {
      const connected = new Set(this.servers.edges.flatMap((e) => [...e.listener.connections].map((c) => c.userId).filter((u) => u !== undefined)));
      // Asked as nobody in particular, so nobody is left out as the asker or by a block.
      const { users } = await this.presence("who", { userId: randomUUID() });
      const online = new Set(users.filter((u) => u.online).map((u) => u.userId));
      return online.size === connected.size && [...connected].every((u) => online.has(u));
    }, ms, "presence to catch up with the edges");
  }

  /** A stored file's bytes (ciphertext), null when there is none. */
  file(id: string): Promise<Uint8Array | null> {
    return this.files.getBlob(id);
  }

  /** Removes a stored file, as its expiry would. */
  async expireFile(id: string): Promise<void> {
    await this.files.delete(id);
  }

  /** Flips one bit of a stored file's ciphertext, at `offset`. */
  async tamperFile(id: string, offset: number): Promise<void> {
    const data = await this.files.getBlob(id);
    if (!data) throw new Error(`no stored file ${id}`);
    data[offset]! ^= 1;
    await this.files.putBlob({ name: id }, data);
  }

  async close(): Promise<void> {
    await this.nc.close();
  }
}
