import { randomUUID } from "node:crypto";
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { EDGE_HEARTBEAT_MS, EdgeHeartbeat, MAX_ONLINE_BATCH, parse, PresenceSync, type Names, type PresenceFeed } from "@natter/protocol";
import type { Logger } from "@natter/kit";
import type { Balancer } from "../../domain/balancer.ts";
import type { Identity, PresenceReport } from "../../domain/ports.ts";
import type { TurnBatch } from "./turn-batch.ts";

/**
 * The edge's side of presence and load balancing: announces connects and disconnects,
 * heartbeats its load every 2 s, answers presence's "who is connected" requests, and
 * feeds the other edges' heartbeats to the balancer.
 */
export class PresenceReporter implements PresenceReport {
  private readonly online = new Map<string, { username: string; connections: number }>();
  private readonly instance = randomUUID();
  private readonly subs: Subscription[] = [];
  private timer: NodeJS.Timeout | undefined;
  private draining = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly n: Names,
    private readonly edge: { name: string; address: string },
    private readonly connections: () => number,
    private readonly balancer: Balancer,
    private readonly logger: Logger,
    private readonly turn: TurnBatch,
  ) {}

  start(): void {
    this.subs.push(this.nc.subscribe(this.n.edgeHeartbeat, {
      callback: (_err, msg) => {
        try {
          const beat = parse(EdgeHeartbeat, msg.json());
          this.balancer.heard(beat.edge, beat);
        } catch {
          this.logger.warn("ignored a malformed edge heartbeat");
        }
      },
    }));
    this.subs.push(this.nc.subscribe(this.n.presenceSync, {
      callback: (_err, msg) => {
        try {
          const { edge } = parse(PresenceSync, msg.json());
          if (edge === undefined || edge === this.edge.name) this.publishOnline();
        } catch {
          this.logger.warn("ignored a malformed presence sync");
        }
      },
    }));
    this.beat();
    this.timer = setInterval(() => this.beat(), EDGE_HEARTBEAT_MS);
    this.timer.unref();
  }

  /** From now on the heartbeat says this edge takes no new clients. */
  drain(): void {
    this.draining = true;
    this.beat();
  }

  stop(): void {
    clearInterval(this.timer);
    for (const sub of this.subs) sub.unsubscribe();
  }

  connected(identity: Identity): void {
    const entry = this.online.get(identity.userId);
    if (entry) entry.connections += 1;
    else this.online.set(identity.userId, { username: identity.username, connections: 1 });
    this.publish({ t: "connect", userId: identity.userId, username: identity.username, edge: this.edge.name, at: Date.now() });
  }

  disconnected(identity: Identity): void {
    const entry = this.online.get(identity.userId);
    if (entry && --entry.connections <= 0) this.online.delete(identity.userId);
    this.publish({ t: "disconnect", userId: identity.userId, username: identity.username, edge: this.edge.name, at: Date.now() });
  }

  private beat(): void {
    const beat: EdgeHeartbeat = {
      edge: this.edge.name, instance: this.instance, address: this.edge.address,
      connections: this.connections(), draining: this.draining, at: Date.now(),
    };
    this.balancer.heard(beat.edge, beat);
    this.safePublish(this.n.edgeHeartbeat, beat);
  }

  /** Everyone connected here, in batches; the last one flagged, one empty batch when nobody is. */
  private publishOnline(): void {
    const users = [...this.online].map(([userId, { username, connections }]) => ({ userId, username, connections }));
    const at = Date.now();
    for (let i = 0; i === 0 || i < users.length; i += MAX_ONLINE_BATCH) {
      const batch = users.slice(i, i + MAX_ONLINE_BATCH);
      this.publish({ t: "online", edge: this.edge.name, users: batch, at, last: i + MAX_ONLINE_BATCH >= users.length });
    }
  }

  private publish(event: PresenceFeed): void {
    this.safePublish(this.n.presenceEvents, event);
  }

  private safePublish(subject: string, value: object): void {
    const data = JSON.stringify(value);
    this.turn.defer(() => {
      try {
        this.nc.publish(subject, data);
      } catch (error) {
        this.logger.warn({ err: (error as Error).message }, "could not publish a presence update");
      }
    });
  }
}
