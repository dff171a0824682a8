/**
 * A sustained-load process for the reliability suite, driven over IPC like the bench's
 * workers (../../../bench/lib/workers.ts). It keeps simulated devices connected through
 * every fault (each reconnects by itself, to the next edge if its own is gone), sends at a
 * fixed rate, and keeps the ledger: what was accepted, what each recipient was shown (dedup
 * by message id, as a client does), raw redeliveries, and the longest delivery stall.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { Device, sourceAddress, type Endpoint } from "../../../bench/load/device.ts";
import type { Cred } from "../../../bench/load/worker.ts";
import { answerHarness } from "../../../bench/lib/workers.ts";

/** A sender and the users each of its messages must reach (one for 1:1, the other members for a group). */
export interface LoadLink { from: Cred; to: Cred[]; group?: string }

/** An edge, and the local address to connect from when loopback cannot reach it (an edge on a test host). */
export type LoadEdge = Endpoint & { from?: string };

export interface PhaseCounts {
  phase: string;
  sent: number;
  accepted: number;
  failed: number;
  /** Copies owed: accepted messages × their recipients. */
  copiesExpected: number;
  copiesShown: number;
  /** Accepted messages shown to every recipient. */
  delivered: number;
  lost: number;
  /** Shown twice to the same recipient: the dedup by id failed. */
  duplicated: number;
  /** The same message handed to the same recipient again (allowed: at-least-once delivery). */
  redelivered: number;
  /** Messages shown although their send failed (stored after all): not lost, not owed. */
  storedAfterFailure: number;
  /** The first few lost: message id and the recipients (user ids) never shown it, to look for in the services' logs. */
  lostExamples: string[];
  /** The longest gap between two deliveries while a send was accepted and not yet shown. */
  longestStallMs: number;
  /** The longest gap between two deliveries while sends were being made, accepted or not (an outage that refuses or holds sends). */
  longestGapMs: number;
  /** The longest time from starting a send to its last recipient showing it. */
  slowestMs: number;
  /** The slowest message, to look for in the services' logs: its id, whether it went to a group, and the recipient shown it last. */
  slowestExample: string;
}

interface Sent { phase: string; startedAt: number; acceptedAt?: number; owed: Set<string>; shownTo: Set<string>; recipients: number }

const PING_EVERY_MS = 5000;
const SEND_TIMEOUT_MS = 15_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One user's connection that comes back by itself until `stop`. */
class Held {
  device: Device | undefined;
  private stopped = false;
  private edge: number;

  constructor(private readonly cred: Cred, private readonly edges: LoadEdge[], first: number, private readonly addr: string,
    private readonly onDeliver: ((id: string) => void) | undefined) {
    this.edge = first;
  }

  async run(): Promise<void> {
    while (!this.stopped) {
      try {
        const edge = this.edges[this.edge % this.edges.length]!;
        const device = await Device.open(edge, edge.from ?? this.addr, { timeoutMs: 5000 });
        try {
          await device.resume(this.cred.token);
          if (this.onDeliver) {
            const deliver = this.onDeliver;
            device.onDeliver = (msg) => deliver(msg.id);
            await device.receive();
          }
        } catch (error) {
          device.close();
          throw error;
        }
        this.device = device;
        const pinger = setInterval(() => device.write({ t: "ping", id: 0 }), PING_EVERY_MS);
        await device.done;
        clearInterval(pinger);
        this.device = undefined;
      } catch {
        // The edge is down or not ready: try the next one after a pause.
      }
      this.edge += 1;
      if (!this.stopped) await sleep(300);
    }
  }

  stop(): void {
    this.stopped = true;
    this.device?.close();
  }
}

const state = {
  phase: "start",
  sending: false,
  links: [] as Array<LoadLink & { sender: Held }>,
  held: [] as Held[],
  sent: new Map<string, Sent>(),
  redelivered: new Map<string, number>(),
  duplicated: new Map<string, number>(),
  lastDelivery: 0,
  /** The phase when the last delivery came: a gap counts for the phase it began in. */
  lastDeliveryPhase: "start",
  stalls: new Map<string, number>(),
  gaps: new Map<string, number>(),
  slowest: new Map<string, number>(),
  slowestExample: new Map<string, string>(),
  inFlight: new Set<Promise<void>>(),
};

/** Accepted messages in the order they were accepted; `head` is the oldest not yet shown to every recipient. */
const acceptedOrder: Sent[] = [];
let head = 0;

/** The accept time of the oldest accepted message some recipient has not been shown, if any. */
function oldestWaiting(): number | undefined {
  while (head < acceptedOrder.length && acceptedOrder[head]!.owed.size === 0) head += 1;
  return acceptedOrder[head]?.acceptedAt;
}

/** The edge handed message `id` to `user`'s device (a redelivery included). */
function handed(user: string, id: string): void {
  const s = state.sent.get(id);
  if (s?.shownTo.has(user)) state.redelivered.set(s.phase, (state.redelivered.get(s.phase) ?? 0) + 1);
}

/** `user`'s device showed message `id`: the ledger counts it, and a second show of it is a duplicate. */
function shown(user: string, id: string): void {
  const now = performance.now();
  // A gap counts as a stall only while a message accepted before it began was waiting to be shown.
  const waitingSince = oldestWaiting();
  if (state.lastDelivery > 0 && waitingSince !== undefined && waitingSince <= state.lastDelivery) {
    const gap = now - state.lastDelivery;
    if (gap > (state.stalls.get(state.lastDeliveryPhase) ?? 0)) state.stalls.set(state.lastDeliveryPhase, gap);
  }
  if (state.lastDelivery > 0 && state.sending) {
    const gap = now - state.lastDelivery;
    if (gap > (state.gaps.get(state.lastDeliveryPhase) ?? 0)) state.gaps.set(state.lastDeliveryPhase, gap);
  }
  state.lastDelivery = now;
  state.lastDeliveryPhase = state.phase;
  const s = state.sent.get(id);
  if (!s) return;
  if (s.shownTo.has(user)) {
    state.duplicated.set(s.phase, (state.duplicated.get(s.phase) ?? 0) + 1);
    return;
  }
  s.shownTo.add(user);
  s.owed.delete(user);
  if (s.owed.size === 0 && now - s.startedAt > (state.slowest.get(s.phase) ?? 0)) {
    state.slowest.set(s.phase, now - s.startedAt);
    state.slowestExample.set(s.phase, `${id}${s.recipients > 1 ? " (group)" : ""} last shown to ${user}, ${Math.round((s.acceptedAt ?? s.startedAt) - s.startedAt)} ms to accept`);
  }
}

async function fire(link: LoadLink & { sender: Held }, body: Uint8Array): Promise<void> {
  const id = randomUUID();
  const record: Sent = { phase: state.phase, startedAt: performance.now(), owed: new Set(link.to.map((c) => c.userId)), shownTo: new Set(), recipients: link.to.length };
  state.sent.set(id, record);
  const device = link.sender.device;
  try {
    if (!device || device.closed) throw new Error("not connected");
    const frame = link.group ? { t: "gsend", msg: { id, group: link.group, body } } : { t: "send", msg: { id, to: link.to[0]!.userId, body } };
    await device.request(frame, SEND_TIMEOUT_MS);
    record.acceptedAt = performance.now();
    acceptedOrder.push(record);
  } catch {
    // Refused, timed out or not connected: not accepted, so not owed (finish counts it as failed).
  }
}

async function sendLoop(rate: number): Promise<void> {
  const body = randomBytes(200);
  const start = performance.now();
  let sent = 0;
  while (state.sending) {
    const due = Math.floor(((performance.now() - start) * rate) / 1000);
    while (sent < due && state.sending) {
      const link = state.links[sent % state.links.length]!;
      sent += 1;
      const p = fire(link, body);
      state.inFlight.add(p);
      void p.finally(() => state.inFlight.delete(p));
    }
    await sleep(5);
  }
}

let loop: Promise<void> | undefined;

const handlers: Record<string, (args: any) => Promise<unknown>> = {
  async ping() {
    return { pid: process.pid };
  },

  /** Connects every link's sender and recipients (spread over the edges) and starts sending `rate` messages a second. */
  async start(args: { edges: LoadEdge[]; links: LoadLink[]; rate: number; addrOffset: number; phase: string }) {
    state.phase = args.phase;
    let k = args.addrOffset;
    const receivers = new Map<string, Held>();
    for (const link of args.links) {
      for (const cred of link.to) {
        if (receivers.has(cred.userId)) continue;
        // The device's own dedup by id, kept across reconnects as a client keeps it in its store.
        const seen = new Set<string>();
        const held = new Held(cred, args.edges, k, sourceAddress(k), (id) => {
          handed(cred.userId, id);
          if (seen.has(id)) return;
          seen.add(id);
          shown(cred.userId, id);
        });
        k += 1;
        receivers.set(cred.userId, held);
        state.held.push(held);
      }
      const sender = new Held(link.from, args.edges, k, sourceAddress(k), undefined);
      k += 1;
      state.held.push(sender);
      state.links.push({ ...link, sender });
    }
    for (const held of state.held) void held.run();
    const deadline = performance.now() + 60_000;
    while (state.held.some((h) => !h.device) && performance.now() < deadline) await sleep(100);
    if (state.held.some((h) => !h.device)) throw new Error("load devices did not connect within 60 s");
    state.sending = true;
    loop = sendLoop(args.rate);
    return { devices: state.held.length };
  },

  /** Sends from now on count under `name`. */
  async phase(args: { name: string }) {
    state.phase = args.name;
    return {};
  },

  /** How many sends have been accepted so far. */
  async accepted() {
    return { accepted: acceptedOrder.length };
  },

  /** Stops sending, waits (at most `settleMs`) for every accepted message to be shown, and counts by phase. */
  async finish(args: { settleMs: number }) {
    state.sending = false;
    await loop;
    await Promise.all(state.inFlight);
    const deadline = performance.now() + args.settleMs;
    while (oldestWaiting() !== undefined && performance.now() < deadline) await sleep(100);
    for (const held of state.held) held.stop();
    const counts = new Map<string, PhaseCounts>();
    const of = (phase: string) => {
      let c = counts.get(phase);
      if (!c) {
        c = { phase, sent: 0, accepted: 0, failed: 0, copiesExpected: 0, copiesShown: 0, delivered: 0, lost: 0, duplicated: state.duplicated.get(phase) ?? 0,
          redelivered: state.redelivered.get(phase) ?? 0, storedAfterFailure: 0, lostExamples: [], longestStallMs: Math.round(state.stalls.get(phase) ?? 0),
          longestGapMs: Math.round(state.gaps.get(phase) ?? 0), slowestMs: Math.round(state.slowest.get(phase) ?? 0),
          slowestExample: state.slowestExample.get(phase) ?? "" };
        counts.set(phase, c);
      }
      return c;
    };
    for (const [id, s] of state.sent) {
      const c = of(s.phase);
      c.sent += 1;
      if (s.acceptedAt === undefined) {
        c.failed += 1;
        if (s.shownTo.size > 0) c.storedAfterFailure += 1;
        continue;
      }
      c.accepted += 1;
      c.copiesExpected += s.recipients;
      c.copiesShown += s.shownTo.size;
      if (s.owed.size === 0) c.delivered += 1;
      else {
        c.lost += 1;
        if (c.lostExamples.length < 5) c.lostExamples.push(`${id} owed to ${[...s.owed].join(", ")}`);
      }
    }
    // A phase with no sends of its own (the settling) still reports its stall.
    for (const phase of state.stalls.keys()) of(phase);
    return [...counts.values()];
  },
};

answerHarness(handlers, () => {
  for (const held of state.held) held.stop();
  process.exit(0);
});
