import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { access, stat } from "node:fs/promises";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { describe, it } from "node:test";
import { HomeStore } from "../home-store.ts";
import { tempDir } from "../testing/harness.ts";
import { errorResponse, resultResponse, RPC_ERRORS, RpcError } from "./json-rpc.ts";
import { DaemonServer, SOCKET_FILE } from "./server.ts";

/** Echoes each line's `n` back after `n` ms, so later requests finish first unless answers keep their order. */
const echo = async (line: string) => {
  const { id, n } = JSON.parse(line) as { id?: number; n: number };
  await new Promise((r) => setTimeout(r, n));
  if (id === undefined) return undefined;
  return n < 0 ? errorResponse(id, new RpcError(RPC_ERRORS.REFUSED, "refused")) : resultResponse(id, n);
};

/** Sends `lines`, ends its side, and answers every line it read back. */
async function exchange(path: string, lines: string[]): Promise<unknown[]> {
  const socket: Socket = connect(path);
  let text = "";
  socket.on("data", (d: Buffer) => (text += d.toString()));
  socket.end(lines.map((l) => `${l}\n`).join(""));
  await new Promise((r) => socket.once("close", r));
  return text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as unknown);
}

describe("the daemon's socket", () => {
  it("is the account's alone, answers in order even half-closed, and is removed on close", async () => {
    await using dir = await tempDir();
    const home = await HomeStore.open(dir.path);
    const server = new DaemonServer(echo);
    const path = join(dir.path, SOCKET_FILE);
    await server.listen(path, home);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    const answers = await exchange(path, ['{"id":1,"n":40}', '{"id":2,"n":1}', '{"n":1}', '{"id":3,"n":-1}']);
    assert.deepEqual(answers, [
      { jsonrpc: "2.0", id: 1, result: 40 },
      { jsonrpc: "2.0", id: 2, result: 1 },
      { jsonrpc: "2.0", id: 3, error: { code: -32000, message: "refused" } },
    ]);
    await server.close();
    await assert.rejects(access(path));
  });

  it("refuses while a daemon answers on it, and replaces one a dead daemon left", async () => {
    await using dir = await tempDir();
    const home = await HomeStore.open(dir.path);
    const path = join(dir.path, SOCKET_FILE);
    const dead = spawn(process.execPath, ["-e", `require("node:net").createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, "SIGKILL"))`]);
    await new Promise((r) => dead.once("exit", r));
    assert.ok((await stat(path)).isSocket());

    const first = new DaemonServer(echo);
    await first.listen(path, home);
    await assert.rejects(new DaemonServer(echo).listen(path, home), /a natter daemon already runs on this home/);
    assert.deepEqual(await exchange(path, ['{"id":1,"n":0}']), [{ jsonrpc: "2.0", id: 1, result: 0 }], "the first still serves");
    await first.close();
  });

  it("answers a line past the bound with -32600 and reads on", async () => {
    await using dir = await tempDir();
    const server = new DaemonServer(echo);
    const path = join(dir.path, SOCKET_FILE);
    await server.listen(path, await HomeStore.open(dir.path));
    const answers = await exchange(path, [`{"id":1,"n":0,"pad":"${"x".repeat(1024 * 1024)}"}`, '{"id":2,"n":0}']);
    assert.deepEqual(answers, [
      { jsonrpc: "2.0", id: null, error: { code: -32600, message: "invalid request: a line is at most 1048576 bytes" } },
      { jsonrpc: "2.0", id: 2, result: 0 },
    ]);
    await server.close();
  });

  it("answers a caller far ahead of its answers, every request in order", async () => {
    await using dir = await tempDir();
    const server = new DaemonServer(echo);
    const path = join(dir.path, SOCKET_FILE);
    await server.listen(path, await HomeStore.open(dir.path));
    const ids = Array.from({ length: 2000 }, (_, i) => i);
    const answers = await exchange(path, ids.map((id) => JSON.stringify({ id, n: id % 3 })));
    assert.deepEqual(answers.map((a) => (a as { id: number }).id), ids);
    await server.close();
  });

  it("refuses a socket path too long for the kernel, clearly", async () => {
    await using dir = await tempDir();
    const server = new DaemonServer(echo);
    await assert.rejects(server.listen(join(dir.path, "x".repeat(120), SOCKET_FILE), await HomeStore.open(dir.path)), /too long for a Unix socket/);
  });
});
