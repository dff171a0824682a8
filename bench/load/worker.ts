/**
 * A load-generator process. The harness calls its handlers over IPC (see
 * ../lib/workers.ts); what one call opens (devices, consumers) stays for the next.
 * Every handler is here, in one file, because they share that state.
 */
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { drainBaseline, JetStreamSide, objectStoreBaseline } from "./baseline.ts";
import { Device, FrameError, sourceAddress, withLimit, type Endpoint } from "./device.ts";
import { runTraffic, Tracker, type Link, type TrafficOptions } from "./traffic.ts";
import { answerHarness } from "../lib/workers.ts";

/** A registered device as the harness hands it over. */
export interface Cred { userId: string; username: string; token: string }

/** Links opened under one name (natter's or a baseline's), run and closed together. */
interface LinkSet { links: Link[]; devices: Device[]; side: JetStreamSide | undefined }

const state: {
  tracker: Tracker;
  sets: Map<string, LinkSet>;
  held: Array<{ device: Device | undefined; to: Endpoint; cred: Cred; addr: string }>;
  pinger: NodeJS.Timeout | undefined;
} = { tracker: new Tracker(), sets: new Map(), held: [], pinger: undefined };

function linkSet(name: string): LinkSet {
  let set = state.sets.get(name);
  if (!set) {
    set = { links: [], devices: [], side: undefined };
    state.sets.set(name, set);
  }
  return set;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const codeOf = (error: unknown) => (error instanceof FrameError ? error.code : (error as Error).message);

async function openDevice(to: Endpoint, cred: Cred, addr: string, receive: boolean): Promise<Device> {
  const device = await Device.open(to, addr);
  try {
    await device.resume(cred.token);
    if (receive) {
      device.onDeliver = (msg) => state.tracker.arrived(msg.id);
      await device.receive();
    }
    return device;
  } catch (error) {
    device.close();
    throw error;
  }
}

const handlers: Record<string, (args: any) => Promise<unknown>> = {
  async ping() {
    return { pid: process.pid };
  },

  /** Opens 1:1 pairs: sender and receiver on different edges, the receiver receiving. */
  async chatOpen(args: { set: string; edges: Endpoint[]; pairs: Array<{ from: Cred; to: Cred }>; addrOffset: number }) {
    const e = args.edges;
    const set = linkSet(args.set);
    await withLimit(args.pairs, 50, async ({ from, to }, i) => {
      const receiver = await openDevice(e[(i + 1) % e.length]!, to, sourceAddress(args.addrOffset + 2 * i + 1), true);
      const sender = await openDevice(e[i % e.length]!, from, sourceAddress(args.addrOffset + 2 * i), false);
      set.devices.push(receiver, sender);
      set.links.push({
        recipients: 1,
        send: async (id, body) => void (await sender.request({ t: "send", msg: { id, to: to.userId, body } })),
      });
    });
    return { devices: set.devices.length };
  },

  /** Opens groups: every member receiving, one sender a group (a member too). */
  async groupOpen(args: { set: string; edges: Endpoint[]; groups: Array<{ groupId: string; sender: Cred; members: Cred[] }>; addrOffset: number }) {
    const e = args.edges;
    const set = linkSet(args.set);
    let k = args.addrOffset;
    for (const group of args.groups) {
      const members = await withLimit(group.members, 50, (cred, i) => openDevice(e[i % e.length]!, cred, sourceAddress(k + i), true));
      k += group.members.length;
      const sender = await openDevice(e[k % e.length]!, group.sender, sourceAddress(k++), false);
      set.devices.push(...members, sender);
      set.links.push({
        recipients: group.members.length,
        send: async (id, body) => void (await sender.request({ t: "gsend", msg: { id, group: group.groupId, body } })),
      });
    }
    return { devices: set.devices.length };
  },

  /** Baseline 1:1: `pairs` publisher/consumer pairs straight on JetStream. */
  async jsChatOpen(args: { set: string; natsUrl: string; namespace: string; pairs: number }) {
    const set = linkSet(args.set);
    const side = (set.side ??= await JetStreamSide.open(args.natsUrl, args.namespace));
    for (let i = 0; i < args.pairs; i++) {
      const to = randomUUID();
      await side.consume(to, (id) => state.tracker.arrived(id));
      set.links.push(side.directLink(randomUUID(), to));
    }
    return { links: set.links.length };
  },

  /** Baseline fan-out: each group's copies published straight into the members' inboxes. */
  async jsGroupOpen(args: { set: string; natsUrl: string; namespace: string; groups: number[] }) {
    const set = linkSet(args.set);
    const side = (set.side ??= await JetStreamSide.open(args.natsUrl, args.namespace));
    for (const recipients of args.groups) {
      const members = Array.from({ length: recipients }, () => randomUUID());
      for (const m of members) await side.consume(m, (id) => state.tracker.arrived(id));
      set.links.push(side.fanoutLink(randomUUID(), members));
    }
    return { links: set.links.length };
  },

  async trafficRun(args: { set: string } & TrafficOptions) {
    state.tracker = new Tracker();
    return runTraffic(linkSet(args.set).links, state.tracker, args);
  },

  async trafficClose(args: { set: string }) {
    const set = linkSet(args.set);
    for (const device of set.devices) device.close();
    await set.side?.close();
    state.sets.delete(args.set);
    return {};
  },

  /** One device drains its waiting inbox; ms from `receive` to the last message. */
  async replayNatter(args: { edge: Endpoint; cred: Cred; expected: number; timeoutMs: number }) {
    const device = await Device.open(args.edge, sourceAddress(0));
    try {
      await device.resume(args.cred.token);
      let received = 0;
      let finished: () => void = () => undefined;
      const done = new Promise<void>((resolve) => (finished = resolve));
      device.onDeliver = () => {
        received += 1;
        if (received === args.expected) finished();
      };
      const start = performance.now();
      await device.receive();
      await Promise.race([done, sleep(args.timeoutMs), device.done]);
      return { ms: performance.now() - start, received };
    } finally {
      device.close();
    }
  },

  async replayBaseline(args: { natsUrl: string; namespace: string; userId: string; expected: number; timeoutMs: number }) {
    return drainBaseline(args.natsUrl, args.namespace, args.userId, args.expected, args.timeoutMs);
  },

  /** Opens and keeps authenticated connections; each pings every `pingEveryMs`, spread evenly. */
  async holdOpen(args: { edges: Endpoint[]; creds: Cred[]; addrOffset: number; concurrency: number; pingEveryMs: number; receive: boolean }) {
    const start = performance.now();
    const errors: Record<string, number> = {};
    const base = state.held.length;
    const entries = args.creds.map((cred, i) => ({
      device: undefined as Device | undefined,
      to: args.edges[(base + i) % args.edges.length]!,
      cred,
      addr: sourceAddress(args.addrOffset + base + i),
    }));
    state.held.push(...entries);
    await withLimit(entries, args.concurrency, async (entry) => {
      try {
        entry.device = await openDevice(entry.to, entry.cred, entry.addr, args.receive);
      } catch (error) {
        errors[codeOf(error)] = (errors[codeOf(error)] ?? 0) + 1;
      }
    });
    startPinger(args.pingEveryMs);
    return { opened: stillOpen(), errors, ms: performance.now() - start };
  },

  /** How many held connections are open now (an edge may have closed some since). */
  async holdCount() {
    return { open: stillOpen() };
  },

  /**
   * Every held connection drops at once and resumes (following redirects, retrying like a
   * client). Times from the drop: to `welcome` (connected) and to `resumed`, in ms.
   */
  async holdStorm(args: { retries: number }) {
    const start = performance.now();
    for (const h of state.held) h.device?.close();
    const welcomed: number[] = [];
    const times: number[] = [];
    const errors: Record<string, number> = {};
    let failed = 0;
    let retries = 0;
    let redirected = 0;
    await Promise.all(state.held.map(async (h) => {
      for (let attempt = 0; ; attempt++) {
        let device: Device | undefined;
        try {
          // Coming back with a session, as the CLI does.
          device = await Device.open(h.to, h.addr, { pinned: false, back: true });
          const hello = performance.now() - start;
          await device.resume(h.cred.token);
          h.device = device;
          if (device.redirected) redirected += 1;
          welcomed.push(hello);
          times.push(performance.now() - start);
          return;
        } catch (error) {
          device?.close();
          errors[codeOf(error)] = (errors[codeOf(error)] ?? 0) + 1;
          if (attempt >= args.retries) {
            failed += 1;
            return;
          }
          retries += 1;
          await sleep(100 + Math.random() * 400 * (attempt + 1));
        }
      }
    }));
    return { times: Float64Array.from(times), welcomed: Float64Array.from(welcomed), failed, retries, redirected, errors };
  },

  async holdClose() {
    if (state.pinger) clearInterval(state.pinger);
    state.pinger = undefined;
    for (const h of state.held) h.device?.close();
    state.held = [];
    return {};
  },

  /** Password logins, each on a fresh connection; each account logs in `perAccount` times in turn. */
  async logins(args: { edges: Endpoint[]; accounts: Array<{ username: string; password: string }>; perAccount: number; addrOffset: number }) {
    const latencies: number[] = [];
    const errors: Record<string, number> = {};
    const start = performance.now();
    await Promise.all(args.accounts.map(async (account, i) => {
      for (let k = 0; k < args.perAccount; k++) {
        const device = await Device.open(args.edges[(i + k) % args.edges.length]!, sourceAddress(args.addrOffset + i), { pinned: false });
        const t0 = performance.now();
        try {
          // The login secret bench-stack registered for this password (the CLI derives it with Argon2id).
          const secret = createHash("sha256").update(account.password).digest("base64url");
          await device.request({ t: "login", username: account.username, secret }, 60_000);
          latencies.push(performance.now() - t0);
        } catch (error) {
          errors[codeOf(error)] = (errors[codeOf(error)] ?? 0) + 1;
        } finally {
          device.close();
          await device.done;
        }
      }
    }));
    return { latencies: Float64Array.from(latencies), errors, ms: performance.now() - start };
  },

  /** Uploads `size` random bytes through the edge in chunks (a window in flight), then downloads them. */
  async filesNatter(args: { edge: Endpoint; cred: Cred; size: number; chunk: number; window: number }) {
    const device = await Device.open(args.edge, sourceAddress(0));
    try {
      await device.resume(args.cred.token);
      const piece = randomBytes(args.chunk);
      const t0 = performance.now();
      const { file } = (await device.request({ t: "upload", size: args.size })) as unknown as { file: string };
      let offset = 0;
      const inFlight = new Set<Promise<unknown>>();
      while (offset < args.size) {
        const n = Math.min(args.chunk, args.size - offset);
        offset += n;
        const last = offset >= args.size;
        const p = device.request({ t: "chunk", upload: file, data: n === args.chunk ? piece : piece.subarray(0, n), last }, 120_000);
        inFlight.add(p);
        void p.finally(() => inFlight.delete(p)).catch(() => undefined);
        if (inFlight.size >= args.window) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
      const uploadMs = performance.now() - t0;

      const t1 = performance.now();
      const id = device.allocateId();
      let bytes = 0;
      const done = new Promise<void>((resolve, reject) => {
        device.onPush = (frame) => {
          if (frame.id !== id) return;
          if (frame.t === "error") reject(new FrameError(String(frame["code"]), String(frame["message"])));
          bytes += (frame["data"] as Uint8Array).byteLength;
          if (frame["last"]) resolve();
        };
      });
      device.write({ t: "download", id, file });
      await Promise.race([done, device.done.then(() => { throw new Error("connection closed during download"); })]);
      return { uploadMs, downloadMs: performance.now() - t1, bytes };
    } finally {
      device.close();
    }
  },

  async filesBaseline(args: { natsUrl: string; bucket: string; size: number; chunk: number }) {
    return objectStoreBaseline(args.natsUrl, args.bucket, args.size, args.chunk);
  },
};

function stillOpen(): number {
  return state.held.filter((h) => h.device && !h.device.closed).length;
}

function startPinger(everyMs: number): void {
  if (state.pinger || everyMs <= 0) return;
  const tickMs = 100;
  let cursor = 0;
  // Each tick pings the next slice, so every connection pings once per `everyMs`.
  state.pinger = setInterval(() => {
    const count = Math.ceil((state.held.length * tickMs) / everyMs);
    for (let k = 0; k < count && state.held.length > 0; k++) {
      cursor = (cursor + 1) % state.held.length;
      state.held[cursor]!.device?.write({ t: "ping", id: 0 });
    }
  }, tickMs);
}

answerHarness(handlers, () => {
  for (const name of [...state.sets.keys()]) void handlers["trafficClose"]!({ set: name });
  void handlers["holdClose"]!({}).finally(() => process.exit(0));
});
