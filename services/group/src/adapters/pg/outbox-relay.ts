import type pg from "pg";
import type { Logger } from "@natter/kit";
import type { NoticeRelay } from "../../domain/ports.ts";
import type { InboxRecord } from "../nats/inbox-publisher.ts";

const BATCH = 100;

interface OutboxRow { id: string; message_id: string; recipients: string[]; record: Buffer }

/**
 * Publishes the membership events in `grp.outbox` to their recipients' inboxes, oldest
 * first, and deletes them once JetStream has stored every copy. Rows are claimed with
 * SKIP LOCKED so replicas share the work; anything that fails stays for the next flush
 * (every `intervalMs`), and the per-recipient `Nats-Msg-Id` makes a repeat harmless.
 */
export class OutboxRelay implements NoticeRelay {
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly log: Logger;

  constructor(
    private readonly pool: pg.Pool,
    private readonly inbox: { publishRecords(records: readonly InboxRecord[]): Promise<void> },
    logger: Logger,
  ) {
    this.log = logger.child({ module: "outbox" });
  }

  /** Flushes now and then every `intervalMs`, for events a failed or crashed flush left. */
  start(intervalMs: number): void {
    void this.flush();
    this.timer = setInterval(() => void this.flush(), intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.queued;
    await this.running;
  }

  /** Resolves once everything committed before the call has been tried. */
  flush(): Promise<void> {
    if (this.queued) return this.queued;
    if (!this.running) {
      this.running = this.drain().finally(() => {
        this.running = undefined;
      });
      return this.running;
    }
    // A flush is under way and may have read the outbox before our rows were committed.
    this.queued = this.running.then(() => {
      this.queued = undefined;
      return this.flush();
    });
    return this.queued;
  }

  private async drain(): Promise<void> {
    try {
      while (await this.batch()) {
        // until the outbox is empty
      }
    } catch (err) {
      this.log.warn({ err }, "membership events not published yet; retrying later");
    }
  }

  /** Publishes and deletes one batch; false when there was nothing to publish. */
  private async batch(): Promise<boolean> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      try {
        const { rows } = await client.query<OutboxRow>(
          `SELECT id, message_id, recipients, record FROM grp.outbox ORDER BY id LIMIT ${BATCH} FOR UPDATE SKIP LOCKED`,
        );
        // One row after the other, so each recipient sees a group's events in order.
        for (const row of rows) {
          await this.inbox.publishRecords(row.recipients.map((to) => ({ to, messageId: row.message_id, data: row.record })));
        }
        if (rows.length > 0) await client.query("DELETE FROM grp.outbox WHERE id = ANY($1::bigint[])", [rows.map((r) => r.id)]);
        await client.query("COMMIT");
        return rows.length === BATCH;
      } catch (err) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw err;
      }
    } finally {
      client.release();
    }
  }
}
