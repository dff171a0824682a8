// The home's message history: every message shown or sent, kept in one SQLite file with a
// full-text index, and the receipts that came back for what was sent.
import { closeSync, openSync, rmSync } from "node:fs";
import { chmod } from "node:fs/promises";
import Database from "better-sqlite3";
import { CliError } from "./errors.ts";

/** A conversation: a username, or `#` and a group's name. */
export type Conversation = string;

export const RECEIPT_KINDS = ["delivered", "read"] as const;
export type ReceiptKind = (typeof RECEIPT_KINDS)[number];
/** Where a sent message has got to: accepted by the server, stored by its receiver, shown to them. */
export type SendStatus = "sent" | ReceiptKind;
const RANK: Record<SendStatus, number> = { sent: 0, delivered: 1, read: 2 };

/** One message as history keeps it. */
export interface HistoryEntry {
  /** The sealed message id (the one receipts name). */
  id: string;
  conversation: Conversation;
  direction: "in" | "out";
  /** Who sent it: a username, or `me`'s for what I sent. */
  from: string;
  type: "text" | "file";
  /** The text, or the file's name. */
  text: string;
  /** A file's size, type and where it was saved (received) or sent from. */
  file?: { size: number; mime: string; path: string };
  /** The sender's clock, ms since the epoch. */
  sentAt: number;
  /** When this home stored it (my clock). */
  at: number;
  /** What I sent: how far it got (1:1); a group message stays `sent`, with `receipts` per member. */
  status?: SendStatus;
  receipts?: Array<{ user: string; kind: ReceiptKind; at: number }>;
  /** A sender warning it was shown with. */
  warning?: string;
}

/** A conversation kept in history, with its last message. */
export interface KeptConversation {
  conversation: Conversation;
  last: HistoryEntry;
}

/** What to record of a message: everything but the time it is stored and its status. */
export type NewEntry = Omit<HistoryEntry, "at" | "status" | "receipts">;

/** What a receipt changed: the messages it moved on (deduplicated: a receipt seen before changes nothing). */
export interface ReceiptEffect {
  kind: ReceiptKind;
  from: string;
  /** The ids of my messages it advanced, with their conversation. */
  advanced: Array<{ id: string; conversation: Conversation }>;
}

interface Row {
  id: string;
  conversation: string;
  direction: "in" | "out";
  sender: string;
  type: "text" | "file";
  body: string;
  file_size: number | null;
  file_mime: string | null;
  file_path: string | null;
  sent_at: number;
  stored_at: number;
  status: SendStatus | null;
  warning: string | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  conversation TEXT NOT NULL,
  direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
  sender TEXT NOT NULL,
  peer_id TEXT,
  type TEXT NOT NULL CHECK (type IN ('text', 'file')),
  body TEXT NOT NULL,
  file_size INTEGER, file_mime TEXT, file_path TEXT,
  sent_at INTEGER NOT NULL,
  stored_at INTEGER NOT NULL,
  status TEXT CHECK (status IN ('sent', 'delivered', 'read')),
  warning TEXT
);
CREATE INDEX IF NOT EXISTS messages_by_conversation ON messages (conversation, stored_at, seq);
CREATE TABLE IF NOT EXISTS receipts (
  message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
  user_id TEXT NOT NULL,
  username TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('delivered', 'read')),
  at INTEGER NOT NULL,
  PRIMARY KEY (message_id, user_id, kind)
);
CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(body, content='messages', content_rowid='seq', tokenize='unicode61 remove_diacritics 2');
CREATE TRIGGER IF NOT EXISTS messages_ai AFTER INSERT ON messages BEGIN
  INSERT INTO messages_fts (rowid, body) VALUES (new.seq, new.body);
END;
CREATE TRIGGER IF NOT EXISTS messages_ad AFTER DELETE ON messages BEGIN
  INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.seq, old.body);
END;
`;

/**
 * The history of one account in its home (`history.sqlite`, mode 0600, WAL). Other
 * processes of the same home write it too; SQLite's own locking keeps them apart. Nothing
 * in it is ever sent anywhere.
 */
export class History {
  private constructor(private readonly db: Database.Database, private readonly now: () => number) {}

  /**
   * Opens (or makes) the history of `userId` at `path`. A history of another account (the
   * home was logged in as someone else since) is deleted first, as the rest of that
   * account's files were.
   */
  static async open(path: string, userId: string, now: () => number): Promise<History> {
    // Made 0600 before SQLite opens it; its -wal and -shm files take the same mode.
    closeSync(openSync(path, "a", 0o600));
    await chmod(path, 0o600);
    let db = openDb(path);
    const owner = (db.prepare("SELECT value FROM meta WHERE key = 'user'").get() as { value: string } | undefined)?.value;
    if (owner !== undefined && owner !== userId) {
      db.close();
      for (const suffix of ["", "-wal", "-shm"]) rmSync(`${path}${suffix}`, { force: true });
      closeSync(openSync(path, "a", 0o600));
      db = openDb(path);
    }
    db.prepare("INSERT OR IGNORE INTO meta (key, value) VALUES ('user', ?)").run(userId);
    return new History(db, now);
  }

  close(): void {
    this.db.close();
  }

  /** Keeps a message (once: a message already kept is left as it is). Answers whether it was new. */
  record(e: NewEntry, peerId?: string): boolean {
    const r = this.db
      .prepare(
        `INSERT OR IGNORE INTO messages (id, conversation, direction, sender, peer_id, type, body, file_size, file_mime, file_path, sent_at, stored_at, status, warning)
         VALUES (@id, @conversation, @direction, @sender, @peerId, @type, @body, @size, @mime, @path, @sentAt, @at, @status, @warning)`,
      )
      .run({
        id: e.id, conversation: e.conversation, direction: e.direction, sender: e.from, peerId: peerId ?? null, type: e.type, body: e.text,
        size: e.file?.size ?? null, mime: e.file?.mime ?? null, path: e.file?.path ?? null,
        sentAt: e.sentAt, at: this.now(), status: e.direction === "out" ? "sent" : null, warning: e.warning ?? null,
      });
    return r.changes > 0;
  }

  /**
   * Applies a receipt from `fromId` (`from` by name) for my messages `ids`. Only messages I
   * sent to that user, or to a group, move on; a 1:1 status only moves forward, and a
   * group message gains one receipt per member and kind. What it did not change is left out.
   */
  applyReceipt(fromId: string, from: string, kind: ReceiptKind, ids: readonly string[]): ReceiptEffect {
    const advanced: ReceiptEffect["advanced"] = [];
    const apply = this.db.transaction(() => {
      for (const id of new Set(ids)) {
        const row = this.db.prepare("SELECT id, conversation, direction, peer_id, status FROM messages WHERE id = ?").get(id) as
          | { id: string; conversation: string; direction: string; peer_id: string | null; status: SendStatus | null }
          | undefined;
        if (!row || row.direction !== "out") continue;
        if (row.conversation.startsWith("#")) {
          const r = this.db.prepare("INSERT OR IGNORE INTO receipts (message_id, user_id, username, kind, at) VALUES (?, ?, ?, ?, ?)").run(id, fromId, from, kind, this.now());
          if (r.changes > 0) advanced.push({ id, conversation: row.conversation });
        } else if (row.peer_id === fromId && RANK[kind] > RANK[row.status ?? "sent"]) {
          this.db.prepare("UPDATE messages SET status = ? WHERE id = ?").run(kind, id);
          advanced.push({ id, conversation: row.conversation });
        }
      }
    });
    apply();
    return { kind, from, advanced };
  }

  /** The last `limit` messages of a conversation stored before `before` (ms), oldest first. */
  conversation(conversation: Conversation, opts: { limit: number; before?: number }): HistoryEntry[] {
    const rows = this.db
      .prepare(`SELECT * FROM messages WHERE conversation = ? AND stored_at < ? ORDER BY stored_at DESC, seq DESC LIMIT ?`)
      .all(conversation, opts.before ?? Number.MAX_SAFE_INTEGER, opts.limit) as Row[];
    return this.entries(rows.reverse());
  }

  /** Every conversation kept (1:1 and groups), each with its last message, the most recent first. */
  conversations(): KeptConversation[] {
    const rows = this.db
      .prepare(
        `SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY conversation ORDER BY stored_at DESC, seq DESC) AS n FROM messages)
         WHERE n = 1 ORDER BY stored_at DESC, seq DESC`,
      )
      .all() as Row[];
    return this.entries(rows).map((last) => ({ conversation: last.conversation, last }));
  }

  /**
   * Messages whose text (or file name) has every one of `words`, newest first, in one
   * conversation or all. Each word is matched as a whole token, whatever it holds (FTS5's
   * query syntax is never taken from the user).
   */
  search(words: readonly string[], opts: { with?: Conversation; limit: number }): HistoryEntry[] {
    const tokens = words.flatMap((w) => w.split(/\s+/)).filter((w) => w !== "");
    if (tokens.length === 0) throw new CliError("USAGE", "search <words…>");
    const query = tokens.map((t) => `"${t.replaceAll('"', '""')}"`).join(" ");
    const rows = this.db
      .prepare(
        `SELECT m.* FROM messages_fts f JOIN messages m ON m.seq = f.rowid
         WHERE messages_fts MATCH ? AND (? IS NULL OR m.conversation = ?)
         ORDER BY m.stored_at DESC, m.seq DESC LIMIT ?`,
      )
      .all(query, opts.with ?? null, opts.with ?? null, opts.limit) as Row[];
    return this.entries(rows);
  }

  /**
   * Deletes a conversation and its receipts; answers how many messages went. Their bytes
   * are overwritten in the file and its index (secure delete) and the journal is emptied
   * into the file, so what was forgotten is not left readable in free pages.
   */
  forget(conversation: Conversation): number {
    const gone = this.db.prepare("DELETE FROM messages WHERE conversation = ?").run(conversation).changes;
    this.db.pragma("wal_checkpoint(TRUNCATE)");
    return gone;
  }

  private entries(rows: Row[]): HistoryEntry[] {
    const receipts = this.db.prepare("SELECT username, kind, at FROM receipts WHERE message_id = ? ORDER BY at, username, kind");
    return rows.map((r) => {
      const e: HistoryEntry = {
        id: r.id, conversation: r.conversation, direction: r.direction, from: r.sender, type: r.type, text: r.body, sentAt: r.sent_at, at: r.stored_at,
      };
      if (r.type === "file") e.file = { size: r.file_size ?? 0, mime: r.file_mime ?? "", path: r.file_path ?? "" };
      if (r.status !== null) e.status = r.status;
      if (r.warning !== null) e.warning = r.warning;
      if (r.direction === "out" && r.conversation.startsWith("#")) {
        e.receipts = (receipts.all(r.id) as Array<{ username: string; kind: ReceiptKind; at: number }>).map((x) => ({ user: x.username, kind: x.kind, at: x.at }));
      }
      return e;
    });
  }
}

function openDb(path: string): Database.Database {
  let db: Database.Database | undefined;
  try {
    db = new Database(path);
    db.pragma("journal_mode = WAL");
    db.pragma("busy_timeout = 10000");
    db.pragma("foreign_keys = ON");
    db.pragma("secure_delete = ON");
    db.exec(SCHEMA);
    db.prepare("INSERT INTO messages_fts (messages_fts, rank) VALUES ('secure-delete', 1)").run();
    return db;
  } catch (cause) {
    db?.close();
    throw new CliError("BAD_HOME", "the history in the natter home cannot be opened", { cause });
  }
}
