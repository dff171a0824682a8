import { NoRespondersError, RequestError, TimeoutError, type Msg, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import { z } from "zod";
import { parse, type Names } from "@natter/protocol";
import type { Logger } from "@natter/kit";
import type { Identity, SessionBus, SessionMembership } from "../../domain/ports.ts";
import type { TurnBatch } from "./turn-batch.ts";

const BusMessage = z.discriminatedUnion("t", [
  z.object({ t: z.literal("ping") }),
  z.object({ t: z.literal("kick"), sid: z.string().optional(), except: z.string(), reason: z.enum(["takeover", "logout"]) }),
]);

const PING = JSON.stringify({ t: "ping" });
const PING_TIMEOUT_MS = 500;

/**
 * Live connections announce themselves on `<ns>.sess.<userId>` (every authenticated
 * connection); the one receiving is found at its user's live subject, where its feed's
 * subscription answers (kit's `DeviceFeed`). A request there with no subscriber fails at
 * once with "no responders", so the common case costs one round trip to NATS and no
 * waiting.
 */
export class NatsSessionBus implements SessionBus {
  /** What every membership needs of the bus: one object, not four references a connection. */
  private readonly shared: BusContext;

  constructor(
    private readonly nc: NatsConnection,
    private readonly n: Names,
    logger: Logger,
    private readonly turn: TurnBatch,
  ) {
    this.shared = { nc, n, logger, turn };
  }

  isConnected(userId: string): Promise<boolean> {
    return anyoneAt(this.nc, this.n.session(userId));
  }

  join(identity: Identity, connId: string, onKick: (reason: "takeover" | "logout") => void): SessionMembership {
    const membership = new BusMembership(this.shared, identity, connId, onKick);
    // Subscribing and unsubscribing wait for the end of the turn like every other NATS
    // write of the edge; the batch keeps their order, so a leave right after a join holds.
    this.turn.defer(() => membership.subscribe());
    return membership;
  }

  kick(userId: string, scope: { sid?: string; except: string; reason: "takeover" | "logout" }): void {
    this.nc.publish(this.n.session(userId), JSON.stringify({ t: "kick", ...scope }));
  }
}

interface BusContext {
  readonly nc: NatsConnection;
  readonly n: Names;
  readonly logger: Logger;
  readonly turn: TurnBatch;
}

/**
 * One connection on the bus. A class rather than closures over `join`'s arguments: every
 * logged-in connection holds one, and its methods are shared where closures were made
 * (with their contexts) for each.
 */
class BusMembership implements SessionMembership {
  private session: Subscription | undefined;
  private left = false;

  constructor(
    private readonly bus: BusContext,
    private readonly identity: Identity,
    private readonly connId: string,
    private readonly onKick: (reason: "takeover" | "logout") => void,
  ) {}

  /** Runs at the end of the turn `join` was called in. */
  subscribe(): void {
    if (this.left) return;
    const { nc, n } = this.bus;
    // Bound rather than an arrow: a bound method costs a connection less than a closure and its context.
    this.session = nc.subscribe(n.session(this.identity.userId), { callback: this.heard.bind(this) });
  }

  /** True when no connection of the account receives; the caller then opens its feed, which answers from then on. */
  async claimReceiver(): Promise<boolean> {
    const { nc, n } = this.bus;
    if (await anyoneAt(nc, n.live(this.identity.userId))) return false;
    return !this.left;
  }

  leave(): void {
    this.left = true;
    this.bus.turn.defer(() => this.session?.unsubscribe());
  }

  private heard(err: Error | null, msg: Msg): void {
    if (err) return;
    let message: z.infer<typeof BusMessage>;
    try {
      message = parse(BusMessage, JSON.parse(msg.string()));
    } catch {
      this.bus.logger.warn("ignored a malformed session bus message");
      return;
    }
    if (message.t === "ping") {
      msg.respond("1");
    } else if (message.except !== this.connId && (message.sid === undefined || message.sid === this.identity.sid)) {
      this.onKick(message.reason);
    }
  }
}

async function anyoneAt(nc: NatsConnection, subject: string): Promise<boolean> {
  try {
    await nc.request(subject, PING, { timeout: PING_TIMEOUT_MS });
    return true;
  } catch (error) {
    if (error instanceof NoRespondersError || (error instanceof RequestError && error.isNoResponders())) return false;
    if (error instanceof TimeoutError) return false;
    throw error;
  }
}
