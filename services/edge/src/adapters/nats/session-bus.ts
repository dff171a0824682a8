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
 * connection) and `<ns>.recv.<userId>` (only the one receiving). A request there with
 * no subscriber fails at once with "no responders", so the common case costs one
 * round trip to NATS and no waiting.
 */
export class NatsSessionBus implements SessionBus {
  constructor(
    private readonly nc: NatsConnection,
    private readonly n: Names,
    private readonly logger: Logger,
    private readonly turn: TurnBatch,
  ) {}

  isConnected(userId: string): Promise<boolean> {
    return this.anyoneAt(this.n.session(userId));
  }

  join(identity: Identity, connId: string, onKick: (reason: "takeover" | "logout") => void): SessionMembership {
    // Subscribing and unsubscribing wait for the end of the turn like every other NATS
    // write of the edge; the batch keeps their order, so a leave right after a join holds.
    const subs: Subscription[] = [];
    const subscribe = (subject: string, callback: (err: Error | null, msg: Msg) => void) => {
      this.turn.defer(() => subs.push(this.nc.subscribe(subject, { callback })));
    };
    subscribe(this.n.session(identity.userId), (err, msg) => {
      if (err) return;
      let message: z.infer<typeof BusMessage>;
      try {
        message = parse(BusMessage, JSON.parse(msg.string()));
      } catch {
        this.logger.warn("ignored a malformed session bus message");
        return;
      }
      if (message.t === "ping") {
        msg.respond("1");
      } else if (message.except !== connId && (message.sid === undefined || message.sid === identity.sid)) {
        onKick(message.reason);
      }
    });
    return {
      claimReceiver: async () => {
        if (await this.anyoneAt(this.n.receiver(identity.userId))) return false;
        subs.push(this.nc.subscribe(this.n.receiver(identity.userId), { callback: (_err, msg) => { msg.respond("1"); } }));
        return true;
      },
      leave: () => {
        this.turn.defer(() => {
          for (const sub of subs) sub.unsubscribe();
        });
      },
    };
  }

  kick(userId: string, scope: { sid?: string; except: string; reason: "takeover" | "logout" }): void {
    this.nc.publish(this.n.session(userId), JSON.stringify({ t: "kick", ...scope }));
  }

  private async anyoneAt(subject: string): Promise<boolean> {
    try {
      await this.nc.request(subject, PING, { timeout: PING_TIMEOUT_MS });
      return true;
    } catch (error) {
      if (error instanceof NoRespondersError || (error instanceof RequestError && error.isNoResponders())) return false;
      if (error instanceof TimeoutError) return false;
      throw error;
    }
  }
}
