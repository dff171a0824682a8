import type { Logger, NatsConnection } from "@natter/kit";
import type { Names, PresenceSync } from "@natter/protocol";
import type { SyncRequester } from "../../domain/sync-requester.ts";

/** Publishes sync requests on `<ns>.evt.presence-sync`; edges answer on `<ns>.evt.presence`. */
export class NatsSyncRequester implements SyncRequester {
  constructor(
    private readonly nc: NatsConnection,
    private readonly n: Names,
    private readonly logger: Logger,
  ) {}

  requestSync(edge?: string): void {
    const request: PresenceSync = edge === undefined ? {} : { edge };
    try {
      this.nc.publish(this.n.presenceSync, JSON.stringify(request));
    } catch (err) {
      // Closed or draining: a replica going away needs no answer.
      this.logger.warn({ err, edge }, "could not ask edges who is online");
    }
  }
}
