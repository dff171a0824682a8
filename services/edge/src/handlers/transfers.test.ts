import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { NatterError } from "@natter/protocol";
import { ALICE, FakeClient, FakeFiles, FakeQuota } from "../../test/fakes.ts";
import { TransferHandlers } from "./transfers.ts";

const refused = (code: string) => (error: unknown) => error instanceof NatterError && error.code === code;
const settle = () => new Promise((resolve) => setTimeout(resolve, 10));

function setup() {
  const files = new FakeFiles();
  const quota = new FakeQuota();
  const handlers = new TransferHandlers({ files, quota, maxFile: 1000 });
  const client = new FakeClient();
  client.identity = ALICE;
  return { files, quota, handlers, client };
}

/** Starts an upload and returns its file id. */
async function start(handlers: TransferHandlers, client: FakeClient, size: number, id = 1): Promise<string> {
  await handlers.upload(client, { t: "upload", id, size });
  const answer = client.frames("upload").find((f) => f.id === id);
  assert.ok(answer, "the upload is answered with its file id");
  return answer.file;
}

describe("transfer handlers", () => {
  it("refuses a file over the limit before any of it is sent", async () => {
    const { handlers, client } = setup();
    await assert.rejects(handlers.upload(client, { t: "upload", id: 1, size: 1001 }), refused("FILE_TOO_LARGE"));
    assert.equal(client.uploads?.size ?? 0, 0);
  });

  it("refuses a fifth upload at once", async () => {
    const { handlers, client } = setup();
    for (let id = 1; id <= 4; id++) await start(handlers, client, 10, id);
    await assert.rejects(handlers.upload(client, { t: "upload", id: 5, size: 10 }), refused("RATE_LIMITED"));
  });

  it("refuses an upload past the user's quota, and gives back what a failed upload set aside", async () => {
    const { handlers, client, quota } = setup();
    quota.limit = 15;
    await start(handlers, client, 10, 1);
    await assert.rejects(handlers.upload(client, { t: "upload", id: 2, size: 10 }), refused("FILE_QUOTA_EXCEEDED"));
    handlers.closed(client);
    await settle();
    assert.equal(quota.used.get(ALICE.userId), 0);
  });

  it("refuses a chunk of an upload that is not under way", () => {
    const { handlers, client } = setup();
    const chunk = { t: "chunk" as const, id: 2, upload: "00000000-0000-4000-8000-000000000f11", data: new Uint8Array(1), last: true };
    assert.throws(() => handlers.chunk(client, chunk), refused("BAD_FRAME"));
  });

  it("stores the chunks as they come, answering each once taken and the last once stored", async () => {
    const { files, handlers, client } = setup();
    const file = await start(handlers, client, 6);
    handlers.chunk(client, { t: "chunk", id: 2, upload: file, data: new Uint8Array([1, 2, 3]), last: false });
    handlers.chunk(client, { t: "chunk", id: 3, upload: file, data: new Uint8Array([4, 5, 6]), last: true });
    await settle();
    assert.deepEqual(client.pushed.slice(1), [{ t: "ok", id: 2 }, { t: "stored", id: 3, file, size: 6 }]);
    assert.deepEqual([...files.files.get(file)!], [1, 2, 3, 4, 5, 6]);
    assert.equal(client.uploads?.size, 0);
  });

  it("drops an upload whose chunks pass its announced size", async () => {
    const { files, handlers, client } = setup();
    const file = await start(handlers, client, 2);
    assert.throws(() => handlers.chunk(client, { t: "chunk", id: 2, upload: file, data: new Uint8Array(3), last: true }), refused("FILE_TOO_LARGE"));
    await settle();
    assert.equal(files.files.size, 0);
    assert.throws(() => handlers.chunk(client, { t: "chunk", id: 3, upload: file, data: new Uint8Array(2), last: true }), refused("BAD_FRAME"));
  });

  it("keeps nothing of an upload cut off by the connection closing", async () => {
    const { files, handlers, client } = setup();
    const file = await start(handlers, client, 10);
    handlers.chunk(client, { t: "chunk", id: 2, upload: file, data: new Uint8Array(4), last: false });
    handlers.closed(client);
    await settle();
    assert.equal(files.files.size, 0);
  });

  it("answers every chunk still waiting UNAVAILABLE when the store fails", async () => {
    const { files, handlers, client } = setup();
    files.failing = true;
    const file = await start(handlers, client, 4);
    handlers.chunk(client, { t: "chunk", id: 2, upload: file, data: new Uint8Array(4), last: true });
    await settle();
    assert.deepEqual(client.errors, [{ id: 2, code: "UNAVAILABLE" }]);
  });

  it("refuses a download of a file that is not stored", async () => {
    const { handlers, client } = setup();
    await assert.rejects(handlers.download(client, { t: "download", id: 9, file: "00000000-0000-4000-8000-000000000f12" }), refused("NO_SUCH_FILE"));
  });

  it("sends a stored file as data frames, the last one empty and flagged, waiting while the socket is full", async () => {
    const { files, handlers, client } = setup();
    const file = "00000000-0000-4000-8000-000000000f13";
    files.files.set(file, new Uint8Array([7, 8, 9]));
    client.buffered = 2 * 1024 * 1024;
    await handlers.download(client, { t: "download", id: 10, file });
    assert.deepEqual(client.pushed, [
      { t: "data", id: 10, data: new Uint8Array([7, 8, 9]), last: false },
      { t: "data", id: 10, data: new Uint8Array(0), last: true },
    ]);
    assert.equal(client.buffered, 0, "it waited for the socket to drain");
  });
});
