import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { MAX_SEND_USAGE_BATCH, parse, SendUsage, type Names } from "@natter/protocol";
import type { Logger } from "@natter/kit";
import type { UserSendRates } from "../../domain/user-send-rates.ts";

/** How often an edge tells the others what its users spent. */
export const SEND_USAGE_INTERVAL_MS = 1000;

/**
 * Shares the send rate across edges in coarse steps: once a second each edge publishes
 * (core NATS, one message per thousand users who sent) what each user spent there, and
 * charges what the other edges report against its own buckets. A send never waits for
 * NATS; a user spread over several edges may pass the rate by at most a second's worth.
 */
export class SendUsageShare {
  private readonly timer: NodeJS.Timeout;
  private readonly sub: Subscription;

  constructor(
    private readonly nc: NatsConnection,
    private readonly n: Names,
    private readonly self: { readonly name: string },
    private readonly rates: UserSendRates,
    logger: Logger,
  ) {
    this.sub = nc.subscribe(n.sendUsage, {
      callback: (_err, msg) => {
        let report: SendUsage;
        try {
          report = parse(SendUsage, msg.json());
        } catch {
          logger.warn("ignored a malformed send-usage report");
          return;
        }
        if (report.edge === this.self.name) return;
        for (const [userId, tokens] of report.usage) this.rates.spentElsewhere(userId, tokens);
      },
    });
    this.timer = setInterval(() => this.report(), SEND_USAGE_INTERVAL_MS);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
    this.sub.unsubscribe();
  }

  private report(): void {
    const usage = this.rates.takeUsage();
    // Until the edge listens it has no name, and has accepted no sends either.
    if (this.nc.isClosed() || !this.self.name) return;
    for (let i = 0; i < usage.length; i += MAX_SEND_USAGE_BATCH) {
      const report: SendUsage = { v: 1, edge: this.self.name, usage: usage.slice(i, i + MAX_SEND_USAGE_BATCH) };
      this.nc.publish(this.n.sendUsage, JSON.stringify(report));
    }
  }
}
