import type { Duplex } from "node:stream";
import { ClientFrame, FrameReader, PROTOCOL_VERSION, decodeBody, encodeFrame, parse, type ServerFrame } from "@natter/protocol";

/**
 * A scripted edge that only answers `hello`: with `reply` (a redirect, say), closing the
 * stream after a redirect as an edge does. For tests of how the client finds an edge —
 * trying addresses in turn, following a redirect — that need no edge behind the hello.
 */
export function answerHello(stream: Duplex, reply: ServerFrame): void {
  const reader = new FrameReader();
  stream.on("error", () => undefined);
  stream.on("data", (chunk: Buffer) => {
    for (const body of reader.push(chunk)) {
      if (parse(ClientFrame, decodeBody(body)).t !== "hello") continue;
      stream.write(encodeFrame(reply));
      if (reply.t === "redirect") stream.end();
    }
  });
}

/** The `welcome` an edge named `edge` sends, with the default limits. */
export function welcome(edge: string): ServerFrame {
  return { t: "welcome", v: PROTOCOL_VERSION, edge, maxFrame: 1024 * 1024, maxFile: 100 * 1024 * 1024, chunkSize: 256 * 1024 };
}
