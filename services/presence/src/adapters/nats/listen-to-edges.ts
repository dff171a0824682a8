import { EdgeHeartbeat, PresenceFeed, parse, type Names } from "@natter/protocol";
import type { Logger, NatsConnection, Subscription } from "@natter/kit";
import type { z } from "zod";
import type { PresenceService } from "../../domain/presence-service.ts";

/**
 * Feeds every edge event and heartbeat to this replica's view. Not a queue group: each
 * replica keeps a whole view. Callbacks run in arrival order, so an edge's events apply
 * in the order it published them; only the last-seen writes run behind.
 */
export function listenToEdges(nc: NatsConnection, n: Names, presence: PresenceService, logger: Logger): Subscription[] {
  const log = logger.child({ module: "edges" });
  const listen = <S extends z.ZodType>(subject: string, schema: S, handle: (msg: z.output<S>) => Promise<void>) =>
    nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err) {
          log.warn({ err, subject }, "subscription failed");
          return;
        }
        let parsed: z.output<S>;
        try {
          parsed = parse(schema, decodeJson(msg.data));
        } catch (err) {
          log.warn({ err, subject }, "dropped a malformed edge message");
          return;
        }
        handle(parsed).catch((err: unknown) => log.warn({ err, subject }, "could not record last seen"));
      },
    });
  return [
    listen(n.presenceEvents, PresenceFeed, (msg) => presence.receive(msg)),
    listen(n.edgeHeartbeat, EdgeHeartbeat, (beat) => presence.heartbeat(beat)),
  ];
}

function decodeJson(data: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(data));
  } catch {
    return undefined;
  }
}
