/**
 * The idle-connection baseline: a bare Node `net` server that holds sockets open and
 * speaks just enough of the protocol for the same devices (hello → welcome, any request →
 * ok, ping → pong). Prints its port on stdout, then serves until killed.
 */
import { createServer } from "node:net";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { decodeBody, encodeFrame, FrameReader, PROTOCOL_VERSION } from "@natter/protocol";

const server = createServer((socket) => {
  const reader = new FrameReader();
  socket.setNoDelay(true);
  socket.on("error", () => socket.destroy());
  socket.on("data", (chunk: Buffer) => {
    for (const body of reader.push(chunk)) {
      const frame = decodeBody(body) as { t: string; id?: number };
      if (frame.t === "hello") {
        socket.write(encodeFrame({ t: "welcome", v: PROTOCOL_VERSION, edge: "raw", maxFrame: 1 << 20, maxFile: 0, chunkSize: 0 }));
      } else if (frame.id !== undefined) {
        socket.write(encodeFrame({ t: frame.t === "ping" ? "pong" : "ok", id: frame.id }));
      }
    }
  });
});
server.maxConnections = Infinity;
server.listen(0, "127.0.0.1", 4096, () => {
  const address = server.address();
  console.log(JSON.stringify({ port: typeof address === "object" && address ? address.port : 0 }));
});
process.on("SIGTERM", () => process.exit(0));
// As the probe in natter's services does: collect garbage, then say what is held.
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
process.on("SIGUSR2", () => {
  gc();
  gc();
  const { rss, heapUsed, external, arrayBuffers } = process.memoryUsage();
  console.log(`BENCHGC ${JSON.stringify({ rss, heapUsed, external, arrayBuffers })}`);
});
