import type { Primitives } from "@natter/crypto";
import type { Dialer } from "./transport/connection.ts";
import type { PasswordInput } from "./password.ts";

/** Everything the CLI touches outside itself, injected so tests run it in process. */
export interface CliDeps {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  stdin: PasswordInput;
  env: Readonly<Record<string, string | undefined>>;
  now(): number;
  random(): number;
  /** A fresh message id (uuid v7). */
  newId(): string;
  dial: Dialer;
  /** The WebCrypto-backed primitives (loaded lazily: `--help` needs no crypto). */
  primitives(): Promise<Primitives>;
  /** Aborted when the user interrupts (SIGINT, SIGTERM): listen and the shell end cleanly. */
  interrupt: AbortSignal;
  /** Timeouts of the connection layer, shortened by tests. */
  timeouts?: { handshakeMs?: number; requestMs?: number; keepaliveMs?: number };
}

/** The options every `natter` command takes. */
export interface GlobalOptions {
  server?: string;
  home?: string;
  json?: boolean;
  downloadDir?: string;
  /** A PEM file of the CA(s) that TLS edges' certificates must chain to (instead of the system's). */
  ca?: string;
}
