import type { HistoryEntry, KeptConversation } from "../history.ts";
import { type Action, type AppState, type ConversationRow, initialState, reduce } from "./state.ts";

/** The app's state in one place: dispatched to by the command, read by the view (useSyncExternalStore). */
export class AppStore {
  private state: AppState = initialState;
  private readonly listeners = new Set<() => void>();

  readonly get = (): AppState => this.state;

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  dispatch(action: Action): void {
    this.state = reduce(this.state, action);
    for (const l of this.listeners) l();
  }

  /**
   * The list at start: every conversation kept in history (1:1 and groups) with its last
   * message, then the contacts not talked to yet.
   */
  start(kept: readonly KeptConversation[], contacts: readonly string[]): void {
    const rows: Array<Omit<ConversationRow, "unread">> = kept.map((k) => ({ id: k.conversation, last: lastLine(k.last) }));
    const talked = new Set(rows.map((r) => r.id));
    this.dispatch({ t: "known", rows: [...rows, ...contacts.filter((c) => !talked.has(c)).map((id) => ({ id }))] });
  }
}

/** A kept message as the list shows it, the way a message arriving is shown there. */
function lastLine(e: HistoryEntry): NonNullable<ConversationRow["last"]> {
  const from = e.direction === "out" ? "me" : e.warning === undefined ? e.from : `⚠ ${e.from}`;
  return { from, text: e.type === "text" ? e.text : `a file: ${e.text}`, at: e.at };
}
