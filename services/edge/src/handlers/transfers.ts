import { randomUUID } from "node:crypto";
import { assert, NatterError, type ClientFrameOf } from "@natter/protocol";
import type { Client } from "../frame-connection.ts";
import type { FileQuota, FileStore } from "../domain/ports.ts";
import { Upload } from "./upload.ts";

/** Uploads one connection may have under way at once. */
const MAX_UPLOADS = 4;
/** Stop writing a download while this much waits in the socket's buffer. */
const WRITE_HIGH_WATER = 1024 * 1024;

/** What the transfer handlers need of their edge. */
export interface TransferPorts {
  readonly files: FileStore;
  /** What each user's files may take until they expire. */
  readonly quota: FileQuota;
  /** Largest file accepted (ciphertext bytes). */
  readonly maxFile: number;
}

/** What the transfer handlers keep on a connection. */
export interface TransferClient extends Client {
  /** The logged-in user, whose quota an upload takes. */
  readonly userId: string | undefined;
  /** Uploads under way, by file id; made with the connection's first upload. */
  uploads: Map<string, Upload> | undefined;
}

/**
 * Encrypted files in and out: an upload streams its chunks into the store as they come
 * (each answered once taken, the last once the file is stored), a download streams the
 * stored bytes out as `data` frames, pausing while the client reads slower than the store.
 * An upload first sets aside its announced size from the user's quota (FILE_QUOTA_EXCEEDED
 * past it), and gives it back if it does not complete.
 */
export class TransferHandlers {
  constructor(private readonly ports: TransferPorts) {}

  async upload(client: TransferClient, frame: ClientFrameOf<"upload">): Promise<void> {
    if (frame.size > this.ports.maxFile) throw new NatterError("FILE_TOO_LARGE");
    const uploads = (client.uploads ??= new Map());
    if (uploads.size >= MAX_UPLOADS) throw new NatterError("RATE_LIMITED", "too many uploads at once");
    assert(client.userId, "uploads are dispatched only once logged in");
    const reservation = await this.ports.quota.reserve(client.userId, frame.size);
    if (!reservation) throw new NatterError("FILE_QUOTA_EXCEEDED");
    // Others may have started while the quota was asked.
    if (client.closed || uploads.size >= MAX_UPLOADS) {
      await reservation.release();
      throw new NatterError("RATE_LIMITED", "too many uploads at once");
    }
    const file = randomUUID();
    const upload = new Upload(frame.size, (requestId) => client.push({ t: "ok", id: requestId }));
    uploads.set(file, upload);
    this.ports.files.put(file, upload.stream).then(
      ({ size }) => {
        uploads.delete(file);
        if (upload.lastRequestId !== undefined) client.push({ t: "stored", id: upload.lastRequestId, file, size });
      },
      (error: unknown) => {
        uploads.delete(file);
        void reservation.release().catch(() => undefined);
        if (!client.closed) client.log.warn({ err: (error as Error).message }, "upload failed");
        for (const id of upload.unanswered()) client.replyError(id, new NatterError("UNAVAILABLE"));
      },
    );
    client.push({ t: "upload", id: frame.id, file });
  }

  chunk(client: TransferClient, frame: ClientFrameOf<"chunk">): void {
    const upload = client.uploads?.get(frame.upload);
    if (!upload) throw new NatterError("BAD_FRAME", "no such upload under way");
    try {
      upload.offer(frame.id, frame.data, frame.last);
    } catch (error) {
      client.uploads?.delete(frame.upload);
      upload.abort("refused chunk");
      throw error;
    }
  }

  async download(client: TransferClient, frame: ClientFrameOf<"download">): Promise<void> {
    const file = await this.ports.files.get(frame.file);
    if (!file) throw new NatterError("NO_SUCH_FILE");
    for await (const data of file.data) {
      if (client.closed) return;
      client.push({ t: "data", id: frame.id, data, last: false });
      if (client.buffered > WRITE_HIGH_WATER) await client.drained();
    }
    client.push({ t: "data", id: frame.id, data: new Uint8Array(0), last: true });
  }

  /** The connection closed: unfinished uploads fail, so the store keeps nothing of them. */
  closed(client: TransferClient): void {
    for (const upload of client.uploads?.values() ?? []) upload.abort("the connection closed");
  }
}
