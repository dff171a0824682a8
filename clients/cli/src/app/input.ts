// What a line typed in the full-screen app asks for. Text goes to the open conversation;
// a line starting with a slash is a command, most of them the shell's own, run by its dispatch.
import { CliError } from "../errors.ts";
import type { Conversation } from "../history.ts";
import { parseConversation } from "../commands/history.ts";

export type AppInput =
  | { kind: "nothing" }
  | { kind: "quit" }
  | { kind: "help" }
  | { kind: "open"; conversation: Conversation }
  /** A line for the shell's dispatch (`send bob hi`, `group add team carol`, `who`). */
  | { kind: "shell"; line: string };

export const APP_HELP = [
  "text                      send it to the open conversation (//text sends /text)",
  "/open <user|#group>       open a conversation",
  "/file <path>              send a file to the open conversation",
  "/group add <name> <user>  and every other group command of the shell",
  "/verify <user> [--mark-verified], /trust <user>, /who [--last-hour], /block <user>, …",
  "/quit (or Ctrl-C)         leave",
  "Tab, Up/Down and Enter: choose a conversation; Esc: back to the list",
].join("\n");

/** Reads one line typed in the app, with `open` the conversation open (if any). Bad input throws a USAGE error. */
export function parseInput(line: string, open: Conversation | undefined): AppInput {
  const text = line.trim();
  if (text === "") return { kind: "nothing" };
  if (!text.startsWith("/") || text.startsWith("//")) {
    if (open === undefined) throw new CliError("USAGE", "open a conversation first (Enter on the list, or /open <user|#group>)");
    return { kind: "shell", line: sendLine(open, text.startsWith("//") ? text.slice(1) : text) };
  }
  const [word = "", ...args] = text.slice(1).split(/\s+/);
  const rest = text.slice(1 + word.length).trim();
  switch (word.toLowerCase()) {
    case "quit":
    case "exit":
      return { kind: "quit" };
    case "help":
      return { kind: "help" };
    case "open":
      if (args.length !== 1) throw new CliError("USAGE", "/open <user|#group>");
      return { kind: "open", conversation: parseConversation(args[0]!) };
    case "file":
      if (rest === "") throw new CliError("USAGE", "/file <path>");
      if (open === undefined) throw new CliError("USAGE", "open a conversation first, then /file <path>");
      return { kind: "shell", line: open.startsWith("#") ? `group sendfile ${open.slice(1)} ${rest}` : `sendfile ${open} ${rest}` };
    case "":
      throw new CliError("USAGE", "a command after the slash: /help for the list");
    default:
      return { kind: "shell", line: text.slice(1) };
  }
}

/** The shell line that sends `text` to a conversation. */
function sendLine(conversation: Conversation, text: string): string {
  return conversation.startsWith("#") ? `group send ${conversation.slice(1)} ${text}` : `send ${conversation} ${text}`;
}
