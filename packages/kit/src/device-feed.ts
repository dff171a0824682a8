import { DeliverPolicy, type JetStreamClient, type JetStreamManager, type MsgRequest, type StoredMsg, type StreamInfo } from "@nats-io/jetstream";
import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";
import type { Names } from "@natter/protocol";
import type { Logger } from "./logger.ts";

/**
 * Deliveries a device may hold unacked. Past it the feed stops handing over live messages
 * and reads them from the stream once the device has acked half of what it holds: the
 * stream is the buffer, never the edge.
 */
const MAX_IN_FLIGHT = 1000;
/** Messages a catch-up asks the stream for at a time. */
const CATCH_UP_BATCH = 256;
/** How long one catch-up read waits for the stream. */
const CATCH_UP_WAIT_MS = 2000;
/**
 * Reads in a row that got nothing while the stream still held messages for the device
 * (a consumer on a node that died, an election that does not end): then the feed gives up
 * and the device's connection is closed, so its client reconnects and starts afresh.
 */
const CATCH_UP_STALLED_AFTER = 15;
/** How long a catch-up that fails (the stream not answering) is tried again before the feed gives up. */
const CATCH_UP_RETRY_MS = 30_000;
/**
 * How often a feed that has heard nothing live looks in the stream for a message it
 * should have heard of: core NATS may drop a live message on a route that broke, and a
 * lost *last* message is not followed by anything that would show the gap. Rare, and a
 * look a device costs the server a request: 5 000 idle devices make 40 a second.
 */
const SWEEP_MS = 120_000;
/**
 * How long a delivery may go unacked before it is handed over again (JetStream's ack wait,
 * as the consumers natter had): a client that could not finish with a message (a file it
 * could not fetch yet) gets it again without reconnecting. Checked every third of it.
 */
const ACK_WAIT_MS = 30_000;
/**
 * How often an edge reads the inbox stream's leader and last sequence, for an election
 * or a renumbering it did not hear of: one request an edge every 5 s.
 */
const STREAM_WATCH_MS = 5000;
/** How long acks gather before their purge (acked messages stay that long, and come again to a new connection). */
const PURGE_AFTER_MS = 1000;

/** How often the feeds sweep and hand over again; the tests shorten them. */
export interface FeedTimings {
  readonly sweepMs: number;
  readonly ackWaitMs: number;
  /** How often an edge reads the stream's leader and last sequence (`STREAM_WATCH_MS`). */
  readonly watchMs?: number;
}

/** A stored message (a MessagePack record) handed to a device. */
export interface FeedDelivery {
  readonly seq: number;
  readonly data: Uint8Array;
  /** The message id it was stored under (the `Nats-Msg-Id` header), when it has one. */
  readonly id: string | undefined;
  /** The device has it: once everything before it is acked too, it leaves the stream. */
  ack(): void;
}

/** What a feed hands its device, and how it says that it cannot go on. */
export interface FeedHandlers {
  /** Each stored message, in stream order, once per feed. */
  deliver(delivery: FeedDelivery): void;
  /** The feed stopped for good; the caller closes the device's connection. */
  lost(error: Error): void;
}

/**
 * The receiving devices of one edge, fed without a JetStream consumer each. The INBOX
 * stream republishes every message it stores to the user's live subject, with its
 * sequence and that of the user's message stored before it (`Nats-Last-Sequence`, 0 when
 * none was left). A feed subscribes there (a subscription is all a connected device costs
 * NATS), hands each message over as it comes, and reads from the stream only to catch up:
 * when it starts, when a live message names a predecessor it never got, when the device
 * fell behind, after the edge's NATS connection came back or the stream's leader changed,
 * and when a sweep finds a message that was stored but never heard of. What the device
 * acks is purged from the stream, a user's subject up to a sequence at a time.
 */
export class DeviceFeeds {
  /**
   * The feeds, in `TICK_SLOTS` turns of one timer: each turn looks over its slot's feeds,
   * so every feed is looked at once a tick's time and an idle edge wakes `TICK_SLOTS` times
   * a tick, not once a feed.
   */
  private readonly slots: Array<Set<DeviceFeed>> = Array.from({ length: TICK_SLOTS }, () => new Set());
  private turn = 0;
  private placed = 0;
  private readonly ticker: NodeJS.Timeout;
  /** Reads the stream's state now and then (`watchStream`), and the leader it last named. */
  private readonly watch: NodeJS.Timeout;
  private leader: string | undefined;
  private readonly watchers: Subscription[] = [];
  /** What every feed of this edge shares of the stream's and the connection's state. */
  private readonly stream: StreamWatch = { connected: true, highestSeen: 0, replicated: undefined };
  private rechecking = false;
  private recheckAgain = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly n: Names,
    private readonly logger?: Logger,
    private readonly timings: FeedTimings = { sweepMs: SWEEP_MS, ackWaitMs: ACK_WAIT_MS },
  ) {
    void (async () => {
      for await (const status of nc.status()) {
        if (status.type === "disconnect" || status.type === "staleConnection") this.stream.connected = false;
        // A reconnect may have dropped live messages: every feed looks again.
        else if (status.type === "reconnect") void this.recheck();
      }
    })();
    // A new leader may not have republished what the old one stored last.
    this.watchers.push(nc.subscribe(`$JS.EVENT.ADVISORY.STREAM.LEADER_ELECTED.${n.inboxStream}`, {
      callback: (_err, msg) => {
        // Known now: the stream's watch need not find it out again.
        this.leader = electedIn(msg) ?? this.leader;
        void this.recheck();
      },
    }));
    this.ticker = setInterval(() => this.tick(), Math.min(timings.sweepMs, timings.ackWaitMs) / 3 / TICK_SLOTS);
    this.ticker.unref();
    this.watch = setInterval(() => void this.watchStream(), timings.watchMs ?? STREAM_WATCH_MS);
    this.watch.unref();
  }

  /**
   * Reads the stream's leader and last sequence, and looks again when either says an
   * election or a renumbering went by unheard. An edge whose NATS node was cut off from
   * the rest for a few seconds keeps its connection (nothing reconnects) and misses both
   * the new leader's advisory and what it republished meanwhile; a feed whose user got
   * nothing live after that would learn of its messages only at its next sweep.
   */
  private async watchStream(): Promise<void> {
    if (this.rechecking || this.slots.every((slot) => slot.size === 0)) return;
    let read;
    try {
      read = await this.readStream();
    } catch {
      return;
    }
    const leader = read.info.cluster?.leader;
    const elected = this.leader !== undefined && leader !== undefined && leader !== this.leader;
    if (leader !== undefined) this.leader = leader;
    if (elected || read.renumbered) {
      this.logger?.info({ leader }, "the inbox stream has a new leader or was numbered anew, unheard of: every feed looks again");
      void this.recheck();
    }
  }

  private feeds(): DeviceFeed[] {
    return this.slots.flatMap((slot) => [...slot]);
  }

  private tick(): void {
    const now = Date.now();
    for (const feed of this.slots[this.turn]!) feed.tick(now);
    this.turn = (this.turn + 1) % TICK_SLOTS;
  }

  /** Starts feeding `userId`'s device: what was waiting first, then what arrives. */
  async open(userId: string, handlers: FeedHandlers): Promise<DeviceFeed> {
    this.stream.replicated ??= this.jsm.streams.info(this.n.inboxStream).then(
      (info) => info.config.num_replicas > 1,
      (error: unknown) => {
        this.stream.replicated = undefined;
        throw error;
      },
    );
    await this.stream.replicated;
    const slot = this.slots[this.placed++ % TICK_SLOTS]!;
    const feed = new DeviceFeed(this.nc, this.js, this.jsm, this.n, userId, handlers, this.stream, this.timings, () => slot.delete(feed), this.logger);
    slot.add(feed);
    await feed.start();
    return feed;
  }

  /** Stops every feed (the edge is going away). */
  stop(): void {
    for (const feed of this.feeds()) feed.stop();
    clearInterval(this.ticker);
    clearInterval(this.watch);
    for (const watcher of this.watchers) watcher.unsubscribe();
  }

  /**
   * After a reconnect or an election. A nats-server killed right after its stream's last
   * messages were purged can come back with the stream's sequence started again lower
   * (seen with 2.9 on one node), and give numbers this edge handed over to new messages,
   * which a feed would take for ones it has and purge. So no feed purges from a
   * disconnect until the stream was read again: if its last sequence is below the highest
   * this edge handed over, every feed starts over from the stream's first message; if
   * not, new messages cannot be given old numbers any more, and each feed checks that
   * what its user still has stored at numbers it handed over is what it handed over (by
   * `Nats-Msg-Id`), and starts over if not. The client shows a message it already has only
   * once. Then every feed looks again for what it did not hear of.
   */
  private async recheck(): Promise<void> {
    if (this.rechecking) {
      this.recheckAgain = true;
      return;
    }
    this.rechecking = true;
    this.stream.connected = false;
    try {
      for (let wait = 250; !this.nc.isClosed(); wait = Math.min(wait * 2, 5000)) {
        try {
          this.recheckAgain = false;
          await this.checkNumbering();
          if (this.recheckAgain) continue;
          this.stream.connected = true;
          for (const feed of this.feeds()) feed.resync();
          return;
        } catch {
          await new Promise((resolve) => setTimeout(resolve, wait));
        }
      }
    } finally {
      this.rechecking = false;
    }
  }

  /**
   * The stream's info, and whether its last sequence is below one this edge had handed over
   * before asking: numbered anew. Compared with what was handed over by the time the answer
   * came, a busy feed's newer messages would look like a renumbering.
   */
  private async readStream(): Promise<{ info: StreamInfo; renumbered: boolean }> {
    const seen = this.stream.highestSeen;
    const info = await this.jsm.streams.info(this.n.inboxStream);
    return { info, renumbered: info.state.last_seq < seen };
  }

  private async checkNumbering(): Promise<void> {
    const { info, renumbered } = await this.readStream();
    if (renumbered) {
      this.logger?.warn({ lastSeq: info.state.last_seq, highestSeen: this.stream.highestSeen }, "the inbox stream was numbered anew: every feed starts over");
      this.stream.highestSeen = 0;
    }
    const feeds = this.feeds();
    for (let i = 0; i < feeds.length; i += RECHECK_CONCURRENCY) {
      await Promise.all(feeds.slice(i, i + RECHECK_CONCURRENCY).map(async (feed) => {
        if (renumbered) return feed.startOver();
        if (await feed.storedAsHandedOver()) return;
        this.logger?.warn({ user: feed.userId }, "a feed's numbers were given to other messages: it starts over");
        feed.startOver();
      }));
    }
  }
}

/** The leader a stream-leader-elected advisory names. */
function electedIn(msg: Msg): string | undefined {
  try {
    const { leader } = JSON.parse(msg.string()) as { leader?: unknown };
    return typeof leader === "string" ? leader : undefined;
  } catch {
    return undefined;
  }
}

/** Feeds that check their numbering at once after a reconnect. */
const RECHECK_CONCURRENCY = 100;
/** Turns of the feeds' timer a tick is spread over. */
const TICK_SLOTS = 10;

/** The stream and connection state the feeds of one edge share. */
interface StreamWatch {
  /** False from a disconnect until the stream was read again: no feed purges meanwhile. */
  connected: boolean;
  /** The highest sequence any feed handed over. */
  highestSeen: number;
  /** Whether the stream has replicas (then a catch-up reads from its leader alone). */
  replicated: Promise<boolean> | undefined;
}

/**
 * The first message on `subject` at or after `seq`, read from the stream's leader (a
 * direct get may be answered by a follower that lags). nats-server 2.9's message get
 * takes `next_by_subj`; the library declares it for direct gets only.
 */
export function nextStored(jsm: JetStreamManager, stream: string, subject: string, seq: number): Promise<StoredMsg | null> {
  return jsm.streams.getMessage(stream, { seq, next_by_subj: subject } as MsgRequest);
}

interface Live { seq: number; last: number; data: Uint8Array; id: string | undefined }

const MSG_ID = "Nats-Msg-Id";
const RECEIVING = "1";

/** One device's feed: see `DeviceFeeds`. */
export class DeviceFeed {
  private readonly subject: string;
  private readonly liveSubject: string;
  private readonly stream: string;
  private sub: Subscription | undefined;
  /** The highest sequence handed over: everything of the user's below it was. */
  private lastDelivered = 0;
  /** Handed over and not acked yet, in order. */
  private readonly inFlight: number[] = [];
  /** The `Nats-Msg-Id` of each message handed over and not purged yet, by sequence, in order. */
  private readonly ids = new Map<number, string | undefined>();
  /** When each unacked delivery was last handed over. */
  private readonly handedAt = new Map<number, number>();
  private readonly acked = new Set<number>();
  /**
   * Everything of the user's below this is gone from the stream. It starts at 1: a purge
   * "below 1" (or below 0) is read by nats-server as a purge of the whole subject.
   */
  private purgedBelow = 1;
  private purging = false;
  /** A catch-up under way, and whether another is wanted when it ends. */
  private catching: Promise<void> | undefined;
  private catchUpAgain = false;
  /** Live messages that came during a catch-up, handed over after it. */
  private held: Live[] = [];
  /** The device holds `MAX_IN_FLIGHT`: live messages are left to a later catch-up. */
  private behind = false;
  private roomWaiter: (() => void) | undefined;
  private heardAt = Date.now();
  private stopped = false;
  /** Counts the times the feed started again from the stream's first message; older acks are void. */
  private generation = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    n: Names,
    readonly userId: string,
    private readonly handlers: FeedHandlers,
    private readonly shared: StreamWatch,
    private readonly timings: FeedTimings,
    private readonly onStop: () => void,
    private readonly logger?: Logger,
  ) {
    this.subject = n.inbox(userId);
    this.liveSubject = n.live(userId);
    this.stream = n.inboxStream;
  }

  /**
   * Subscribes, then starts handing over what the stream holds (as the device acks, past
   * the first `MAX_IN_FLIGHT`); a stream that cannot be read rejects.
   */
  async start(): Promise<void> {
    this.sub = this.nc.subscribe(this.liveSubject, { callback: (_err, msg) => this.heard(msg) });
    // The subscription must be in place at the server before the stream is read, so that
    // nothing stored in between is missed; what both bring is handed over once.
    await this.nc.flush();
    try {
      await this.storedAfter(0);
    } catch (error) {
      this.stop();
      throw error;
    }
    this.catchUp();
  }

  private ack(seq: number, generation: number): void {
    if (this.stopped || generation !== this.generation) return;
    this.handedAt.delete(seq);
    this.acked.add(seq);
    while (this.inFlight.length > 0 && this.acked.delete(this.inFlight[0]!)) this.inFlight.shift();
    this.purge();
    if (this.inFlight.length <= MAX_IN_FLIGHT / 2) {
      this.roomWaiter?.();
      if (this.behind) {
        this.behind = false;
        this.catchUp();
      }
    }
  }

  /** Looks in the stream for anything not handed over yet, and purges what waited for the connection. */
  resync(): void {
    if (this.stopped) return;
    this.purge();
    this.catchUp();
  }

  /** Forgets every sequence handed over (the stream numbered anew): the next catch-up reads from its first message. */
  startOver(): void {
    this.logger?.debug({ user: this.userId, lastDelivered: this.lastDelivered }, "feed: starting over");
    this.generation++;
    this.lastDelivered = 0;
    this.inFlight.length = 0;
    this.ids.clear();
    this.handedAt.clear();
    this.acked.clear();
    this.purgedBelow = 1;
    this.held = [];
    this.behind = false;
    this.roomWaiter?.();
  }

  /**
   * Whether every message of the user's still stored at a sequence this feed handed over
   * is the one it handed over there (see `DeviceFeeds.recheck`).
   */
  async storedAsHandedOver(): Promise<boolean> {
    for (let seq = 1; ;) {
      const stored = await nextStored(this.jsm, this.stream, this.subject, seq);
      if (!stored || stored.seq > this.lastDelivered) return true;
      if (stored.seq < this.purgedBelow || !this.ids.has(stored.seq) || this.ids.get(stored.seq) !== stored.header.get(MSG_ID)) return false;
      seq = stored.seq + 1;
    }
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.sub?.unsubscribe();
    this.roomWaiter?.();
    this.onStop();
  }

  private heard(msg: Msg): void {
    if (this.stopped) return;
    // A request on the subject asks whether the account has a receiving connection: this
    // one is. What the stream republishes comes with no reply subject.
    if (msg.reply) return void msg.respond(RECEIVING);
    this.heardAt = Date.now();
    const seq = Number(msg.headers?.get("Nats-Sequence"));
    const last = Number(msg.headers?.get("Nats-Last-Sequence") || 0);
    if (!Number.isSafeInteger(seq) || seq <= 0) return;
    const live = { seq, last, data: msg.data, id: msg.headers?.get(MSG_ID) };
    if (this.catching) {
      if (this.held.length < MAX_IN_FLIGHT) this.held.push(live);
      else this.catchUpAgain = true;
      return;
    }
    this.take(live);
  }

  /** Hands a live message over, unless it shows a gap or the device is behind. */
  private take({ seq, last, data, id }: Live): void {
    if (seq <= this.lastDelivered) return;
    if (this.behind) return;
    if (last > this.lastDelivered) {
      this.logger?.debug({ user: this.userId, seq, last, lastDelivered: this.lastDelivered }, "a live message names one never heard of: catching up");
      return this.catchUp();
    }
    if (this.inFlight.length >= MAX_IN_FLIGHT) {
      this.behind = true;
      return;
    }
    this.hand(seq, data, id);
  }

  private hand(seq: number, data: Uint8Array, id: string | undefined): void {
    this.lastDelivered = seq;
    this.ids.set(seq, id);
    this.handedAt.set(seq, Date.now());
    this.shared.highestSeen = Math.max(this.shared.highestSeen, seq);
    this.inFlight.push(seq);
    const generation = this.generation;
    this.handlers.deliver({ seq, data, id, ack: () => this.ack(seq, generation) });
  }

  private catchUp(): void {
    if (this.catching) {
      this.catchUpAgain = true;
      return;
    }
    this.catching = this.catchUpTrying()
      .catch((error: unknown) => this.fail(error))
      .finally(() => { this.catching = undefined; });
  }

  /**
   * Catch-up rounds, tried again while the stream does not answer (an election under way)
   * for up to `CATCH_UP_RETRY_MS` in all; then the feed gives up.
   */
  private async catchUpTrying(): Promise<void> {
    for (let wait = 250, waited = 0; ; waited += wait, wait = Math.min(wait * 2, 4000)) {
      try {
        return await this.catchUpRounds();
      } catch (error) {
        if (this.stopped || waited >= CATCH_UP_RETRY_MS) throw error;
        this.logger?.debug({ user: this.userId, err: (error as Error).message }, "feed: catch-up failed, trying again");
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  /**
   * Reads the stream, then hands over what came live meanwhile; a gap among those, or
   * anything else that asked for a catch-up during the round, makes another round.
   */
  private async catchUpRounds(): Promise<void> {
    do {
      this.catchUpAgain = false;
      await this.readStored();
      const held = this.held;
      this.held = [];
      for (const live of held) this.take(live);
    } while (this.catchUpAgain && !this.stopped);
  }

  /** Hands over, in order, what the stream holds for the user past `lastDelivered`. */
  private async readStored(): Promise<void> {
    // A feed started again from the stream's first message ends this round; the next starts there.
    const generation = this.generation;
    const current = () => !this.stopped && generation === this.generation;
    this.logger?.debug({ user: this.userId, after: this.lastDelivered }, "feed: catching up");
    if (!(await this.storedAfter(this.lastDelivered)) || !current()) return;
    if (await this.shared.replicated) return this.readFromLeader(current);
    const consumer = await this.js.consumers.get(this.stream, {
      filter_subjects: this.subject,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: this.lastDelivered + 1,
    });
    try {
      for (let empty = 0; current();) {
        await this.room();
        if (!current()) return;
        let got = 0;
        let pending = -1;
        const batch = await consumer.fetch({ max_messages: Math.min(CATCH_UP_BATCH, MAX_IN_FLIGHT - this.inFlight.length), expires: CATCH_UP_WAIT_MS });
        // A read whose consumer went with a NATS node may never end by itself (seen in a
        // cluster's failover): it is stopped, and the catch-up starts again on a new consumer.
        let hung = false;
        const watchdog = setTimeout(() => {
          hung = true;
          void batch.close();
        }, CATCH_UP_WAIT_MS + 3000);
        try {
          for await (const m of batch) {
            got++;
            pending = m.info.pending;
            if (m.seq > this.lastDelivered && current()) this.hand(m.seq, m.data, m.headers?.get(MSG_ID));
          }
        } finally {
          clearTimeout(watchdog);
        }
        if (hung) throw new Error("a catch-up read did not end");
        if (pending === 0) return;
        if (got > 0) {
          empty = 0;
          continue;
        }
        if (!(await this.storedAfter(this.lastDelivered))) return;
        if (++empty >= CATCH_UP_STALLED_AFTER) throw new Error("the inbox stream stopped answering a catch-up");
      }
    } finally {
      await consumer.delete().catch(() => false);
    }
  }

  /**
   * Hands over what the stream's leader holds for the user past `lastDelivered`, one read a
   * message. On a cluster a consumer, even a short-lived one, reads the store of whichever
   * replica it was placed on, and a replica still catching up after a restart has holes:
   * a catch-up through it skipped messages, and the purge after the device's acks then
   * removed them unread (seen in the cluster suite under load). The leader has no holes.
   */
  private async readFromLeader(current: () => boolean): Promise<void> {
    for (;;) {
      await this.room();
      if (!current()) return;
      const stored = await nextStored(this.jsm, this.stream, this.subject, this.lastDelivered + 1);
      if (!stored || !current()) return;
      this.hand(stored.seq, stored.data, stored.header.get(MSG_ID));
    }
  }

  /** Whether the stream holds a message of the user's past `seq`. */
  private async storedAfter(seq: number): Promise<boolean> {
    return (await nextStored(this.jsm, this.stream, this.subject, seq + 1)) !== null;
  }

  /** Resolves once the device has room for more deliveries (or the feed stopped). */
  private room(): Promise<void> {
    if (this.inFlight.length < MAX_IN_FLIGHT || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      this.roomWaiter = () => {
        this.roomWaiter = undefined;
        resolve();
      };
    });
  }

  /**
   * Purges the user's subject below the oldest unacked delivery, a second after the ack that
   * asked for it and one request at a time, so that a busy user's acks cost a purge a second.
   */
  private purge(): void {
    if (this.purging || !this.shared.connected) return;
    const below = this.inFlight[0] ?? this.lastDelivered + 1;
    if (below <= this.purgedBelow) return;
    this.purging = true;
    setTimeout(() => {
      const upTo = this.inFlight[0] ?? this.lastDelivered + 1;
      if (upTo <= this.purgedBelow || !this.shared.connected) {
        this.purging = false;
        return;
      }
      const generation = this.generation;
      this.logger?.debug({ user: this.userId, below: upTo }, "feed: purging");
      this.jsm.streams.purge(this.stream, { filter: this.subject, seq: upTo }).then(
        () => {
          if (generation !== this.generation) return;
          this.purgedBelow = Math.max(this.purgedBelow, upTo);
          for (const seq of this.ids.keys()) {
            if (seq >= upTo) break;
            this.ids.delete(seq);
          }
        },
        // Not purged: the messages come again to the device's next connection, and the
        // next ack tries again. Nothing is lost.
        () => undefined,
      ).finally(() => {
        this.purging = false;
        if (!this.stopped) this.purge();
      });
    }, PURGE_AFTER_MS).unref();
  }

  /**
   * Hands over again what went unacked too long, and sweeps a feed that heard nothing for a
   * while; `DeviceFeeds` calls it every third of the shorter of the two.
   */
  tick(now: number): void {
    if (this.stopped) return;
    for (const [seq, at] of this.handedAt) if (now - at >= this.timings.ackWaitMs) this.handAgain(seq);
    if (this.catching || this.behind || now - this.heardAt < this.timings.sweepMs) return;
    // The next sweep is a sweep's time from this one, not at every tick from now on.
    this.heardAt = now;
    this.storedAfter(this.lastDelivered).then(
      (waiting) => { if (waiting) this.catchUp(); },
      () => undefined,
    );
  }

  /** Reads an unacked delivery back from the stream (the feed keeps no copy) and hands it over again. */
  private handAgain(seq: number): void {
    const generation = this.generation;
    this.handedAt.set(seq, Date.now());
    this.jsm.streams.getMessage(this.stream, { seq }).then(
      (stored) => {
        if (this.stopped || generation !== this.generation || !this.handedAt.has(seq)) return;
        // Gone from the stream: some connection of the user acked it after all.
        if (!stored || stored.subject !== this.subject) return this.ack(seq, generation);
        this.handlers.deliver({ seq, data: stored.data, id: stored.header.get(MSG_ID) || undefined, ack: () => this.ack(seq, generation) });
      },
      () => undefined,
    );
  }

  private fail(error: unknown): void {
    if (this.stopped) return;
    this.stop();
    this.handlers.lost(error instanceof Error ? error : new Error(String(error)));
  }
}
