import { CliError } from "./errors.ts";

/** The standard input as far as passwords are concerned. */
export type PasswordInput = NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?(mode: boolean): unknown };

export interface PasswordOptions {
  /** `--password-stdin`: the first line of standard input is the password. */
  fromStdin: boolean;
  prompt: string;
  /** Ask twice on a terminal (registration). */
  confirm?: boolean;
}

/**
 * Reads a password from standard input (`--password-stdin`) or from a terminal prompt
 * without echo, never from the command line (where other users and shell history see it).
 * `promptTo` is where prompts go: stderr, so stdout stays clean for --json.
 */
export async function readPassword(input: PasswordInput, promptTo: (text: string) => void, options: PasswordOptions): Promise<string> {
  if (options.fromStdin) return firstLine(await readAll(input));
  if (!input.isTTY || !input.setRawMode) throw new CliError("NO_PASSWORD");
  const password = await promptHidden(input, promptTo, options.prompt);
  if (options.confirm) {
    const again = await promptHidden(input, promptTo, "again, to confirm: ");
    if (again !== password) throw new CliError("PASSWORD_MISMATCH");
  }
  return password;
}

/**
 * The current and the new password for `natter passwd`: from the first two lines of
 * standard input (`--password-stdin`), or asked on the terminal (the new one twice).
 */
export async function readPasswordChange(input: PasswordInput, promptTo: (text: string) => void, fromStdin: boolean): Promise<{ current: string; next: string }> {
  if (fromStdin) {
    const [current = "", next] = (await readAll(input)).split(/\r?\n/);
    if (next === undefined) throw new CliError("USAGE", "--password-stdin needs two lines: the current password, then the new one");
    return { current, next };
  }
  const current = await readPassword(input, promptTo, { fromStdin: false, prompt: "current password: " });
  const next = await readPassword(input, promptTo, { fromStdin: false, prompt: "new password: ", confirm: true });
  return { current, next };
}

/** The first line, without its line ending (`printf 'pw\n' | natter login …` and `echo` both work). */
export function firstLine(text: string): string {
  const end = text.search(/\r?\n/);
  return end === -1 ? text : text.slice(0, end);
}

async function readAll(input: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of input) {
    const b = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    chunks.push(b);
    size += b.byteLength;
    if (size > 64 * 1024) throw new CliError("PASSWORD_TOO_LONG");
  }
  return Buffer.concat(chunks).toString("utf8");
}

function promptHidden(input: PasswordInput, promptTo: (text: string) => void, prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let typed = "";
    promptTo(prompt);
    input.setRawMode!(true);
    input.resume();
    const finish = (err?: Error): void => {
      input.removeListener("data", onData);
      input.setRawMode!(false);
      input.pause();
      promptTo("\n");
      if (err) reject(err);
      else resolve(typed);
    };
    const onData = (chunk: Buffer | string): void => {
      for (const ch of chunk.toString()) {
        if (ch === "\r" || ch === "\n") return finish();
        if (ch === "\u0003" || (ch === "\u0004" && typed === "")) return finish(new CliError("USAGE", "cancelled"));
        if (ch === "\u007f" || ch === "\b") typed = [...typed].slice(0, -1).join("");
        else if (ch >= " ") typed += ch;
      }
    };
    input.on("data", onData);
  });
}
