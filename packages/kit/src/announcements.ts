import type { NatsConnection } from "@nats-io/transport-node";
import type { z } from "zod";
import { parse } from "@natter/protocol";
import type { Logger } from "./logger.ts";

export interface Announcements {
  close(): void;
}

/**
 * Follows best-effort announcements on a core NATS subject (block changes, ended sessions,
 * changed groups), each checked against `schema`; a malformed one is logged and skipped.
 * Announcements made while the connection was away are lost, so `onReconnect` runs each
 * time it comes back: a cache built on them forgets what it may have missed.
 */
export function followAnnouncements<S extends z.ZodType>(
  nc: NatsConnection,
  subject: string,
  schema: S,
  handlers: { onEvent: (event: z.output<S>) => void; onReconnect?: () => void },
  logger: Logger,
): Announcements {
  const sub = nc.subscribe(subject, {
    callback: (_err, msg) => {
      let event: z.output<S>;
      try {
        event = parse(schema, msg.json());
      } catch {
        logger.warn({ subject }, "ignored a malformed announcement");
        return;
      }
      handlers.onEvent(event);
    },
  });
  const status = nc.status();
  void (async () => {
    for await (const s of status) if (s.type === "reconnect") handlers.onReconnect?.();
  })();
  return {
    close() {
      sub.unsubscribe();
      // nats.js hands out a stoppable iterator, though its type says only AsyncIterable.
      if ("stop" in status && typeof status.stop === "function") status.stop();
    },
  };
}
