/**
 * One traffic loop for natter and its baselines alike: links send messages (saturated
 * with a window of requests in flight, or paced at a fixed rate), receivers report what
 * arrives, and a tracker counts deliveries, end-to-end latency (to the last recipient)
 * and what never arrived. Sender and receivers of a link live in the same process, so
 * one clock times both ends.
 */
import { randomBytes, randomUUID } from "node:crypto";

/** One sender and the recipients each of its messages must reach. */
export interface Link {
  /** Resolves once the system has stored the message (`accepted`, or JetStream's ack). */
  send(id: string, body: Uint8Array): Promise<void>;
  /** How many deliveries one message makes (1 for a 1:1 message, members − 1 for a group). */
  readonly recipients: number;
}

export interface TrafficOptions {
  bodySize: number;
  warmupMs: number;
  durationMs: number;
  /**
   * Saturated mode: messages each link keeps in flight, end to end: a slot frees when
   * every recipient has the message, so a backlog cannot build up behind the sender.
   */
  window?: number;
  /** Fixed-rate mode: messages a second per link (overrides window). */
  ratePerLink?: number;
  /** After sending stops, how long to wait for everything accepted to arrive. */
  drainMs: number;
  /** Keep latency samples (ms) of messages sent in the measured window. */
  latency: boolean;
}

export interface TrafficResult {
  /** Deliveries that arrived within the measured window. */
  delivered: number;
  /** Messages stored (accepted) within the measured window. */
  accepted: number;
  windowMs: number;
  /** Send attempts refused or failed, by code. */
  errors: Record<string, number>;
  /** Deliveries owed for accepted messages that never came (after the drain). */
  lost: number;
  duplicates: number;
  /** Latency (ms) from send to the last recipient, for messages sent in the window. */
  latencies: Float64Array;
}

interface Pending { sentAt: number; remaining: number; accepted: boolean; done?: () => void }

/** A saturated sender stops waiting for one message's deliveries after this (it is then owed, and counted lost if it never comes). */
const SLOT_TIMEOUT_MS = 10_000;

export class Tracker {
  private readonly pending = new Map<string, Pending>();
  private measureFrom = Infinity;
  private measureTo = Infinity;
  delivered = 0;
  accepted = 0;
  duplicates = 0;
  latencies: number[] = [];
  keepLatency = false;
  private completedBefore = new Set<string>();

  window(from: number, to: number): void {
    this.measureFrom = from;
    this.measureTo = to;
  }

  sent(id: string, recipients: number): void {
    this.pending.set(id, { sentAt: performance.now(), remaining: recipients, accepted: false });
  }

  /** Resolves when every recipient has message `id`, or after `timeoutMs`. */
  whenDelivered(id: string, timeoutMs: number): Promise<void> {
    const p = this.pending.get(id);
    if (!p) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      p.done = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  stored(id: string): void {
    const p = this.pending.get(id);
    const now = performance.now();
    if (now >= this.measureFrom && now <= this.measureTo) this.accepted += 1;
    if (p) p.accepted = true;
  }

  failed(id: string): void {
    this.pending.get(id)?.done?.();
    this.pending.delete(id);
  }

  /** A recipient got message `id` (ids that this tracker did not send are ignored). */
  arrived(id: string): void {
    const now = performance.now();
    const p = this.pending.get(id);
    if (!p) {
      if (this.completedBefore.has(id)) this.duplicates += 1;
      return;
    }
    if (now >= this.measureFrom && now <= this.measureTo) this.delivered += 1;
    p.remaining -= 1;
    if (p.remaining === 0) {
      this.pending.delete(id);
      p.done?.();
      // Remembered only to spot redeliveries; bounded by the messages of one run.
      this.completedBefore.add(id);
      if (this.keepLatency && p.sentAt >= this.measureFrom && p.sentAt <= this.measureTo) this.latencies.push(now - p.sentAt);
    }
  }

  /** Deliveries still owed for stored messages. */
  owed(): number {
    let owed = 0;
    for (const p of this.pending.values()) if (p.accepted) owed += p.remaining;
    return owed;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Drives `links` as the options say and reports what the tracker saw. */
export async function runTraffic(links: readonly Link[], tracker: Tracker, options: TrafficOptions): Promise<TrafficResult> {
  const body = randomBytes(options.bodySize);
  const errors: Record<string, number> = {};
  const start = performance.now();
  const from = start + options.warmupMs;
  const to = from + options.durationMs;
  tracker.window(from, to);
  tracker.keepLatency = options.latency;

  const fire = (link: Link, untilDelivered = false): Promise<void> => {
    const id = randomUUID();
    tracker.sent(id, link.recipients);
    const delivered = untilDelivered ? tracker.whenDelivered(id, SLOT_TIMEOUT_MS) : undefined;
    const stored = link.send(id, body).then(
      () => tracker.stored(id),
      (error: unknown) => {
        tracker.failed(id);
        const code = (error as { code?: string }).code ?? (error as Error).message;
        errors[code] = (errors[code] ?? 0) + 1;
      },
    );
    return delivered ? Promise.all([stored, delivered]).then(() => undefined) : stored;
  };

  if (options.ratePerLink !== undefined) {
    const rate = options.ratePerLink;
    const sentBy = links.map(() => 0);
    const inFlight = new Set<Promise<void>>();
    // Each link starts at its own phase, so the links' sends spread over the interval.
    const phase = links.map((_, i) => (i / links.length) * (1000 / rate));
    while (performance.now() < to) {
      const elapsed = performance.now() - start;
      links.forEach((link, i) => {
        const due = Math.floor(((elapsed + phase[i]!) * rate) / 1000);
        while (sentBy[i]! < due) {
          sentBy[i]! += 1;
          const p = fire(link);
          inFlight.add(p);
          void p.finally(() => inFlight.delete(p));
        }
      });
      await sleep(1);
    }
    await Promise.all(inFlight);
  } else {
    const window = options.window ?? 1;
    await Promise.all(links.flatMap((link) => Array.from({ length: window }, async () => {
      while (performance.now() < to) await fire(link, true);
    })));
  }

  const drainUntil = performance.now() + options.drainMs;
  while (tracker.owed() > 0 && performance.now() < drainUntil) await sleep(20);
  return {
    delivered: tracker.delivered,
    accepted: tracker.accepted,
    windowMs: options.durationMs,
    errors,
    lost: tracker.owed(),
    duplicates: tracker.duplicates,
    latencies: Float64Array.from(tracker.latencies),
  };
}
