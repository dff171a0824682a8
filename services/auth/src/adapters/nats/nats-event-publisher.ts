import type { Logger, NatsConnection } from "@natter/kit";

/**
 * Publishes auth's announcements on core NATS (block changes on `<ns>.evt.blocks`, ended
 * sessions on `<ns>.evt.sessions`). Best effort: the change is stored either way, and an
 * edge that misses the event only notices later, when its cached copy expires.
 */
export class NatsEventPublisher<Event extends object> {
  constructor(
    private readonly nc: NatsConnection,
    private readonly subject: string,
    private readonly logger: Logger,
  ) {}

  publish(event: Event): void {
    try {
      this.nc.publish(this.subject, JSON.stringify(event));
    } catch (err) {
      this.logger.warn({ err, subject: this.subject }, "could not publish an announcement");
    }
  }
}
