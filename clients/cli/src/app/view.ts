// The full-screen app's screen: the conversations on the left, the open one on the right,
// a status line and the input line below. Written with createElement, so the CLI needs no
// JSX build step.
import { createElement as h, useEffect, useRef, useState, useSyncExternalStore, type ReactElement } from "react";
import { Box, Text, useInput, useStdout } from "ink";
import type { HistoryEntry } from "../history.ts";
import { clock, printable } from "../output.ts";
import { selectedConversation, type ConversationRow } from "./state.ts";
import type { AppStore } from "./store.ts";

/** What the view asks of the command. */
export interface AppActions {
  open(conversation: string): void;
  /** Esc: back to the list. */
  close(): void;
  line(text: string): void;
  quit(): void;
}

const LIST_WIDTH = 28;

export function AppView({ store, actions }: { store: AppStore; actions: AppActions }): ReactElement {
  const state = useSyncExternalStore(store.subscribe, store.get);
  const { columns, rows } = useTerminalSize();
  // Keys can come faster than renders: the line being typed is read from the ref, never from a stale render.
  const typed = useRef("");
  const [input, setInputState] = useState("");
  const setInput = (text: string): void => {
    typed.current = text;
    setInputState(text);
  };
  const submit = (text: string): void => {
    if (text.trim() === "") {
      const chosen = selectedConversation(store.get());
      if (chosen !== undefined) actions.open(chosen);
    } else {
      actions.line(text);
    }
  };

  useInput((ch, key) => {
    if (key.ctrl && ch === "c") return actions.quit();
    if (key.escape) return actions.close();
    if (key.tab) return store.dispatch({ t: "select", by: key.shift ? -1 : 1 });
    if (key.upArrow || key.downArrow) return store.dispatch({ t: "select", by: key.upArrow ? -1 : 1 });
    if (key.return) {
      submit(typed.current);
      return setInput("");
    }
    if (key.backspace || key.delete) return setInput([...typed.current].slice(0, -1).join(""));
    if (ch === "" || key.ctrl || key.meta) return;
    // Pasted text arrives in one piece: each line of it is a line typed.
    const pieces = ch.split(/\r\n|\r|\n/);
    for (const piece of pieces.slice(0, -1)) {
      submit(typed.current + piece);
      typed.current = "";
    }
    setInput(typed.current + pieces.at(-1)!);
  });

  // One row short of the screen: ink redraws a frame as tall as the screen from scratch each time.
  const height = Math.max(8, rows - 1);
  const paneHeight = height - 2;
  const listWidth = Math.min(LIST_WIDTH, Math.floor(columns / 3));
  const shown = Math.max(1, paneHeight - 3);
  const lastStatus = state.status.at(-1) ?? "";
  // The list scrolls to keep the highlighted conversation in view.
  const listRows = Math.max(1, paneHeight - 3);
  const first = Math.max(0, state.selected - listRows + 1);

  return h(
    Box,
    { flexDirection: "column", width: columns, height },
    h(
      Box,
      { flexDirection: "row", height: paneHeight },
      h(
        Box,
        { flexDirection: "column", width: listWidth, borderStyle: "single", borderColor: state.open === undefined ? "cyan" : "gray" },
        h(Text, { bold: true }, "Conversations"),
        ...(state.conversations.length === 0 ? [h(Text, { key: "none", dimColor: true }, "none yet: /open <user>")] : []),
        ...state.conversations.slice(first, first + listRows).map((c, i) => listRow(c, first + i === state.selected, c.id === state.open)),
      ),
      h(
        Box,
        { flexDirection: "column", flexGrow: 1, borderStyle: "single", borderColor: state.open === undefined ? "gray" : "cyan" },
        h(Text, { bold: true, wrap: "truncate" }, state.panel !== undefined ? "Esc closes this" : state.open === undefined ? "natter — Enter opens a conversation, /help for commands" : state.open),
        ...(state.panel !== undefined
          ? state.panel.slice(-shown).map((line, i) => h(Text, { key: `panel-${i}`, wrap: "truncate" }, printable(line)))
          : state.open === undefined ? [] : state.history.slice(-shown).map((e) => historyRow(e))),
      ),
    ),
    h(Text, { key: "status", dimColor: true, wrap: "truncate" }, printable(lastStatus)),
    h(Text, { key: "input", wrap: "truncate-start" }, `> ${printable(input)}`, h(Text, { inverse: true }, " ")),
  );
}

function listRow(c: ConversationRow, selected: boolean, open: boolean): ReactElement {
  const unread = c.unread > 0 ? ` (${c.unread})` : "";
  const last = c.last === undefined ? "" : ` ${c.last.from === "me" ? "me: " : ""}${c.last.text}`;
  return h(
    Text,
    { key: c.id, wrap: "truncate", inverse: selected, bold: c.unread > 0 || open },
    `${open ? "▸" : " "}${c.id}${unread}`,
    h(Text, { dimColor: true }, printable(last)),
  );
}

function historyRow(e: HistoryEntry): ReactElement {
  const who = e.direction === "out" ? "me" : e.warning === undefined ? e.from : `⚠ ${e.from} (${e.warning === "IDENTITY_CHANGED" ? "new key: /verify, /trust" : "not your contact"})`;
  const body = e.type === "text" ? e.text : `${e.direction === "out" ? "sent" : "received"} a file: ${e.text}${e.file?.path ? ` (${e.file.path})` : ""}`;
  return h(
    Text,
    { key: e.id, wrap: "truncate" },
    h(Text, { dimColor: true }, `[${clock(e.at)}] `),
    h(Text, { bold: e.direction === "in", color: e.warning === undefined ? undefined : "yellow" }, printable(who)),
    `: ${printable(body)}`,
    h(Text, { color: "green" }, receiptMark(e)),
  );
}

/** Sent ✓, delivered ✓✓, read ✓✓ read; a group message: who it reached and who read it. */
export function receiptMark(e: HistoryEntry): string {
  if (e.direction !== "out") return "";
  if (e.receipts !== undefined) {
    const read = e.receipts.filter((r) => r.kind === "read").map((r) => r.user);
    const delivered = e.receipts.filter((r) => r.kind === "delivered" && !read.includes(r.user)).map((r) => r.user);
    if (read.length > 0) return `  ✓✓ read by ${read.join(", ")}`;
    return delivered.length > 0 ? `  ✓✓ ${delivered.join(", ")}` : "  ✓";
  }
  return e.status === "read" ? "  ✓✓ read" : e.status === "delivered" ? "  ✓✓" : "  ✓";
}

/** The terminal's size, updated when it is resized. */
function useTerminalSize(): { columns: number; rows: number } {
  const { stdout } = useStdout();
  const read = () => ({ columns: stdout.columns || 80, rows: stdout.rows || 24 });
  const [size, setSize] = useState(read);
  useEffect(() => {
    const onResize = () => setSize(read());
    stdout.on("resize", onResize);
    return () => {
      stdout.off("resize", onResize);
    };
  }, [stdout]);
  return size;
}
