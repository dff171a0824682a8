// What the full-screen app shows, as plain data, and the one function that changes it: the
// view renders it and the command feeds it, so its rules are tested without a terminal.
import type { Conversation, HistoryEntry } from "../history.ts";

/** A conversation in the list: how many messages came since it was last open, and the last one. */
export interface ConversationRow {
  id: Conversation;
  unread: number;
  /** The last message: who sent it (`me` for mine), a line of it, and when (ms). */
  last?: { from: string; text: string; at: number };
}

export interface AppState {
  /** Most recent activity first. */
  conversations: ConversationRow[];
  /** The highlighted row of the list (what Enter opens). */
  selected: number;
  /** The open conversation, whose history is shown and whose messages count as read. */
  open?: Conversation;
  /** The open conversation's last messages, oldest first. */
  history: HistoryEntry[];
  /** Lines of command output, warnings and errors, newest last. */
  status: string[];
  /** A command's output of several lines (help, a safety number, who is online), shown in place of the conversation until Esc. */
  panel?: string[];
}

export type Action =
  /** Conversations known at start (contacts, history), with their last messages. */
  | { t: "known"; rows: ReadonlyArray<Omit<ConversationRow, "unread">> }
  /** A message in a conversation: mine (`me`) or someone's; counted unread unless it is open. */
  | { t: "message"; conversation: Conversation; from: string; text: string; at: number }
  | { t: "open"; conversation: Conversation }
  /** Esc: back to the list; nothing is open. */
  | { t: "close" }
  | { t: "select"; by: number }
  | { t: "history"; conversation: Conversation; entries: HistoryEntry[] }
  | { t: "status"; line: string }
  | { t: "panel"; lines: string[] };

/** How many status lines are kept. */
export const STATUS_LINES = 50;

export const initialState: AppState = { conversations: [], selected: 0, history: [], status: [] };

export function reduce(state: AppState, action: Action): AppState {
  switch (action.t) {
    case "known": {
      const have = new Set(state.conversations.map((c) => c.id));
      const added = action.rows.filter((r) => !have.has(r.id)).map((r) => ({ ...r, unread: 0 }));
      return withSelection(state, ordered([...state.conversations, ...added]));
    }
    case "message": {
      const existing = state.conversations.find((c) => c.id === action.conversation);
      const counts = action.from !== "me" && state.open !== action.conversation;
      const row: ConversationRow = {
        id: action.conversation,
        unread: (existing?.unread ?? 0) + (counts ? 1 : 0),
        last: { from: action.from, text: action.text, at: action.at },
      };
      return withSelection(state, ordered([row, ...state.conversations.filter((c) => c.id !== action.conversation)]));
    }
    case "open": {
      const has = state.conversations.some((c) => c.id === action.conversation);
      const rows = has
        ? state.conversations.map((c) => (c.id === action.conversation ? { ...c, unread: 0 } : c))
        : ordered([...state.conversations, { id: action.conversation, unread: 0 }]);
      const history = state.open === action.conversation ? state.history : [];
      const { panel: _, ...rest } = state;
      return { ...rest, conversations: rows, open: action.conversation, history, selected: rows.findIndex((c) => c.id === action.conversation) };
    }
    case "close": {
      // Esc closes a panel first, then the conversation.
      const { panel, open: _, ...rest } = state;
      if (panel !== undefined) return { ...rest, ...(state.open === undefined ? {} : { open: state.open }) };
      return { ...rest, history: [] };
    }
    case "select": {
      const n = state.conversations.length;
      return n === 0 ? state : { ...state, selected: (((state.selected + action.by) % n) + n) % n };
    }
    case "history":
      return action.conversation === state.open ? { ...state, history: action.entries } : state;
    case "status":
      return { ...state, status: [...state.status, action.line].slice(-STATUS_LINES) };
    case "panel":
      return { ...state, panel: action.lines };
  }
}

/** Every unread message, in all conversations (the count in the terminal's title). */
export function totalUnread(state: AppState): number {
  return state.conversations.reduce((n, c) => n + c.unread, 0);
}

/** The conversation highlighted in the list, if any. */
export function selectedConversation(state: AppState): Conversation | undefined {
  return state.conversations[state.selected]?.id;
}

/** Newest activity first; conversations with no message yet after them, by name. */
function ordered(rows: ConversationRow[]): ConversationRow[] {
  return [...rows].sort((a, b) => (b.last?.at ?? -1) - (a.last?.at ?? -1) || a.id.localeCompare(b.id));
}

/** Keeps the highlight on the same conversation when the list is reordered. */
function withSelection(state: AppState, rows: ConversationRow[]): AppState {
  const keep = state.conversations[state.selected]?.id;
  const at = keep === undefined ? 0 : rows.findIndex((c) => c.id === keep);
  return { ...state, conversations: rows, selected: Math.max(0, at) };
}
