/**
 * Sustained traffic for the reliability scenarios: load-generator processes (the bench's
 * worker machinery, running ./load-worker.ts) send 1:1 and group messages at a fixed rate
 * through every fault, and each keeps the ledger of what was accepted and shown.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { resolve } from "node:path";
import { connect } from "@nats-io/transport-node";
import { call } from "@natter/kit";
import { AuthApi, GroupApi, names, NatterError } from "@natter/protocol";
import { benchIdentity, fakeBundle, genesisEntry } from "../../../bench/lib/bench-stack.ts";
import { LoadWorker } from "../../../bench/lib/workers.ts";
import { withLimit } from "../../../bench/load/device.ts";
import type { Cred } from "../../../bench/load/worker.ts";
import type { LoadEdge, LoadLink, PhaseCounts } from "./load-worker.ts";

const ENTRY = resolve(import.meta.dirname, "load-worker.ts");

export interface LoadShape {
  /** Messages a second over all workers. */
  rate: number;
  workers: number;
  /** 1:1 sender/recipient pairs a worker drives. */
  pairsPerWorker: number;
  /** Groups a worker drives, each with one sender and `groupRecipients` other members. */
  groupsPerWorker: number;
  groupRecipients: number;
}

/** Enough for ≥ 500 messages a second on a 2-core machine next to the stack under test. */
export const DEFAULT_LOAD: LoadShape = { rate: 500, workers: 2, pairsPerWorker: 8, groupsPerWorker: 2, groupRecipients: 4 };

export class SustainedLoad {
  readonly startedAt = performance.now();
  stoppedAt = 0;

  private constructor(private readonly workers: LoadWorker[], readonly shape: LoadShape) {}

  /** Registers the load's users through auth, makes their groups, connects them and starts sending. */
  static async start(options: { natsUrl: string; namespace: string; edges: LoadEdge[]; shape?: LoadShape; tag: string; phase: string }): Promise<SustainedLoad> {
    const shape = options.shape ?? DEFAULT_LOAD;
    const n = names(options.namespace);
    const nc = await connect({ servers: options.natsUrl.split(","), name: "natter-reliability-load" });
    const workers: LoadWorker[] = [];
    try {
      const perWorker = shape.pairsPerWorker * 2 + shape.groupsPerWorker * (shape.groupRecipients + 1);
      const creds = await withLimit(Array.from({ length: perWorker * shape.workers }, (_, i) => i), 16, async (i) => {
        const request = {
          username: `load_${options.tag}_${i}`,
          salt: randomBytes(16).toString("base64url"),
          secret: createHash("sha256").update("reliability-load").digest("base64url"),
          bundle: fakeBundle(await benchIdentity(`load_${options.tag}_${i}`)),
          backup: randomBytes(1536).toString("base64url"),
          addr: "127.0.0.1",
        };
        for (let attempt = 0; ; attempt++) {
          try {
            const grant = await call(nc, n.auth("register"), AuthApi.register, request, { timeoutMs: 60_000 });
            return { userId: grant.userId, username: grant.username, token: grant.token };
          } catch (error) {
            if (!(error instanceof NatterError && error.code === "UNAVAILABLE") || attempt >= 20) throw error;
            await new Promise((r) => setTimeout(r, 300));
          }
        }
      });
      const plans: LoadLink[][] = [];
      for (let w = 0; w < shape.workers; w++) {
        const mine = creds.slice(w * perWorker, (w + 1) * perWorker);
        const links: LoadLink[] = [];
        for (let p = 0; p < shape.pairsPerWorker; p++) links.push({ from: mine[2 * p]!, to: [mine[2 * p + 1]!] });
        let k = shape.pairsPerWorker * 2;
        for (let g = 0; g < shape.groupsPerWorker; g++) {
          const sender: Cred = mine[k++]!;
          const members = mine.slice(k, k + shape.groupRecipients);
          k += shape.groupRecipients;
          const name = `load-${options.tag}-${w}-${g}`;
          const group = await call(nc, n.groupSvc("create"), GroupApi.create, {
            userId: sender.userId, username: sender.username, name, members: members.map((m) => m.username), entry: await genesisEntry(name, sender, members),
          }, { timeoutMs: 60_000 });
          links.push({ from: sender, to: members, group: group.id });
        }
        plans.push(links);
      }
      for (let w = 0; w < shape.workers; w++) workers.push(LoadWorker.start(w, ENTRY));
      await Promise.all(workers.map((w) => w.call("ping", {}, 60_000)));
      await Promise.all(workers.map((w, i) => w.call("start", {
        edges: options.edges, links: plans[i]!, rate: shape.rate / shape.workers, addrOffset: i * 100, phase: options.phase,
      }, 90_000)));
      return new SustainedLoad(workers, shape);
    } catch (error) {
      await Promise.all(workers.map((w) => w.stop()));
      throw error;
    } finally {
      await nc.close().catch(() => undefined);
    }
  }

  /** Sends started from now on are counted under `name`. */
  async phase(name: string): Promise<void> {
    await Promise.all(this.workers.map((w) => w.call("phase", { name }, 30_000)));
  }

  /** How many sends all workers have had accepted so far. */
  async accepted(): Promise<number> {
    const all = await Promise.all(this.workers.map((w) => w.call<{ accepted: number }>("accepted", {}, 30_000)));
    return all.reduce((t, a) => t + a.accepted, 0);
  }

  /** Stops sending, waits up to `settleMs` for every accepted message to be shown, and merges the workers' counts by phase. */
  async finish(settleMs: number): Promise<PhaseCounts[]> {
    this.stoppedAt = performance.now();
    const all = await Promise.all(this.workers.map((w) => w.call<PhaseCounts[]>("finish", { settleMs }, settleMs + 60_000)));
    const merged = new Map<string, PhaseCounts>();
    for (const counts of all) {
      for (const c of counts) {
        const m = merged.get(c.phase);
        if (!m) {
          merged.set(c.phase, { ...c });
          continue;
        }
        for (const key of ["sent", "accepted", "failed", "copiesExpected", "copiesShown", "delivered", "lost", "duplicated", "redelivered", "storedAfterFailure"] as const) m[key] += c[key];
        if (c.slowestMs > m.slowestMs) m.slowestExample = c.slowestExample;
        for (const key of ["longestStallMs", "longestGapMs", "slowestMs"] as const) m[key] = Math.max(m[key], c[key]);
        m.lostExamples = [...m.lostExamples, ...c.lostExamples].slice(0, 5);
      }
    }
    return [...merged.values()];
  }

  async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.stop()));
  }
}

/** The counts as a printable table, one line a phase and a total. */
export function loadTable(name: string, counts: PhaseCounts[], seconds: number): string[] {
  const total = counts.reduce((t, c) => ({
    ...t, sent: t.sent + c.sent, accepted: t.accepted + c.accepted, delivered: t.delivered + c.delivered, lost: t.lost + c.lost,
    duplicated: t.duplicated + c.duplicated, redelivered: t.redelivered + c.redelivered, failed: t.failed + c.failed,
    longestStallMs: Math.max(t.longestStallMs, c.longestStallMs), longestGapMs: Math.max(t.longestGapMs, c.longestGapMs), slowestMs: Math.max(t.slowestMs, c.slowestMs),
  }), { sent: 0, accepted: 0, delivered: 0, lost: 0, duplicated: 0, redelivered: 0, failed: 0, longestStallMs: 0, longestGapMs: 0, slowestMs: 0 });
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const row = (label: string, c: typeof total) =>
    `  | ${label} | ${c.sent} | ${c.accepted} | ${c.delivered} | ${c.lost} | ${c.duplicated} | ${c.redelivered} | ${c.failed} | ${s(c.longestStallMs)} | ${s(c.longestGapMs)} | ${s(c.slowestMs)} |`;
  return [
    `reliability ${name} sustained load: ${total.sent} sent in ${seconds.toFixed(0)} s (${(total.sent / seconds).toFixed(0)} msgs/s offered)`,
    "  | phase | sent | accepted | delivered | lost | duplicated | redelivered | failed | longest stall | longest gap | slowest |",
    ...counts.map((c) => row(c.phase, c)),
    row("total", total),
  ];
}

/** Asserts that no phase lost or duplicated a message and that at least `minAccepted` were accepted. */
export function checkLoad(counts: PhaseCounts[], minAccepted: number): void {
  const sum = (key: "accepted" | "lost" | "duplicated") => counts.reduce((t, c) => t + c[key], 0);
  assert.deepEqual(counts.filter((c) => c.lost > 0 || c.duplicated > 0), [], "the sustained load lost nothing and showed nothing twice");
  assert.equal(sum("lost"), 0);
  assert.equal(sum("duplicated"), 0);
  assert.ok(sum("accepted") >= minAccepted, `sustained load did flow (${sum("accepted")} accepted)`);
}
