/**
 * Files: one device uploads random bytes (ciphertext to the server) through an edge in
 * 256 KiB chunks with 4 in flight, then downloads them. MB/s each way, and the edge's RSS
 * sampled every 100 ms throughout. Baseline: the same bytes put into and read back from
 * a JetStream object store directly with nats.js.
 */
import { RssSampler } from "../lib/proc.ts";
import { atMostRow, ratioRow } from "../lib/report.ts";
import type { Scenario } from "../lib/scenario.ts";
import { MiB } from "../lib/stats.ts";

/** The edge may hold a window of chunks, never the file: growth stays under this. */
const FLAT_MIB = 32;

export const files: Scenario = {
  name: "files",
  title: "file upload and download through the edge",
  async run(ctx) {
    const { files: p } = ctx.profile;
    const stack = await ctx.main();
    const [device] = await ctx.devices(1);
    const [worker] = ctx.pool.workers;
    const sampler = new RssSampler(stack.pid(0), 100);
    ctx.log(`natter: ${p.bytes / MiB} MiB up and down`);
    let natter: { uploadMs: number; downloadMs: number; bytes: number };
    let rss: ReturnType<RssSampler["stop"]>;
    try {
      natter = await worker!.call("filesNatter", { edge: stack.edges[0], cred: device, size: p.bytes, chunk: p.chunk, window: p.window });
    } finally {
      rss = sampler.stop();
    }
    ctx.log("baseline: object store put and get");
    const bucket = `${await ctx.baselineNamespace()}-files`;
    const base = await worker!.call<{ putMs: number; getMs: number; bytes: number }>("filesBaseline", { natsUrl: stack.natsUrl, bucket, size: p.bytes, chunk: p.chunk });
    const mbs = (bytes: number, ms: number) => bytes / 1e6 / (ms / 1000);
    const label = `files, ${p.bytes / MiB} MiB`;
    return [
      ratioRow({ scenario: label, figure: "upload MB/s", unit: "MB/s", natter: mbs(p.bytes, natter.uploadMs), baseline: mbs(p.bytes, base.putMs) }, 0.5),
      ratioRow({
        scenario: label, figure: "download MB/s", unit: "MB/s", natter: mbs(natter.bytes, natter.downloadMs), baseline: mbs(base.bytes, base.getMs),
        note: natter.bytes === p.bytes ? undefined : `downloaded ${natter.bytes} of ${p.bytes} bytes`,
      }, 0.5),
      atMostRow({
        scenario: label, figure: "edge RSS growth during transfer (peak − start)", unit: "MiB", natter: (rss.peak - rss.first) / MiB,
        note: `edge RSS ${(rss.first / MiB).toFixed(0)} MiB at start, peak ${(rss.peak / MiB).toFixed(0)}, end ${(rss.last / MiB).toFixed(0)}; "flat" read as growth under ${FLAT_MIB} MiB, far below the file`,
      }, FLAT_MIB),
    ];
  },
};
