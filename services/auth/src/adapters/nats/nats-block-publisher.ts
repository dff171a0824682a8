import type { BlockEvent } from "@natter/protocol";
import type { Logger, NatsConnection } from "@natter/kit";
import type { BlockPublisher } from "../../domain/block-publisher.ts";

/** Publishes block changes on core NATS (`<ns>.evt.blocks`). */
export class NatsBlockPublisher implements BlockPublisher {
  constructor(
    private readonly nc: NatsConnection,
    private readonly subject: string,
    private readonly logger: Logger,
  ) {}

  publish(event: BlockEvent): void {
    try {
      this.nc.publish(this.subject, JSON.stringify(event));
    } catch (err) {
      // The block is stored; edges that miss this event only refresh their cached list later.
      this.logger.warn({ err }, "could not announce a block change");
    }
  }
}
