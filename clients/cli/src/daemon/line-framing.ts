import { StringDecoder } from "node:string_decoder";

/** The longest line the daemon reads: a text message at its largest, JSON-escaped, fits well. */
export const MAX_LINE_BYTES = 1024 * 1024;

/** What a chunk of input held: whole lines, and a line that went past the bound (dropped up to its newline). */
export type Framed = { kind: "line"; line: string } | { kind: "too-long" };

/**
 * Newline-delimited framing: one JSON message a line, `\n` (or `\r\n`) ending each. A line
 * longer than `maxBytes` is reported once and skipped up to its newline, so a runaway
 * writer costs a bounded amount of memory and the lines after it are still read.
 */
export class LineFraming {
  private readonly decoder = new StringDecoder("utf8");
  private pending = "";
  private pendingBytes = 0;
  private skipping = false;

  constructor(private readonly maxBytes = MAX_LINE_BYTES) {}

  push(chunk: Buffer | string): Framed[] {
    const text = typeof chunk === "string" ? chunk : this.decoder.write(chunk);
    const out: Framed[] = [];
    let start = 0;
    for (;;) {
      const nl = text.indexOf("\n", start);
      const piece = text.slice(start, nl === -1 ? undefined : nl);
      if (!this.skipping) {
        this.pending += piece;
        this.pendingBytes += Buffer.byteLength(piece);
        if (this.pendingBytes > this.maxBytes) {
          out.push({ kind: "too-long" });
          this.skipping = true;
          this.pending = "";
          this.pendingBytes = 0;
        }
      }
      if (nl === -1) break;
      if (!this.skipping) {
        const line = this.pending.endsWith("\r") ? this.pending.slice(0, -1) : this.pending;
        if (line.trim() !== "") out.push({ kind: "line", line });
      }
      this.skipping = false;
      this.pending = "";
      this.pendingBytes = 0;
      start = nl + 1;
    }
    return out;
  }

  /** The input ended: a last line without its newline still counts. */
  end(): Framed[] {
    return this.push(`${this.decoder.end()}\n`);
  }
}
