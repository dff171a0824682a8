import { CliError } from "../errors.ts";

export const DEFAULT_SERVER = "127.0.0.1:7400";

export interface ServerAddress {
  host: string;
  port: number;
  /** Dial TLS and verify the edge's certificate (`tls://host:port`). */
  tls?: true;
}

/**
 * Parses `host:port,host:port` (IPv6 as `[::1]:7400`); a missing port means 7400;
 * `tls://host:port` means TLS, a plain address (or `tcp://`) TCP.
 */
export function parseServers(list: string): ServerAddress[] {
  const parts = list.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
  if (parts.length === 0) throw new CliError("USAGE", "--server needs at least one host:port");
  return parts.map(parseServer);
}

export function parseServer(text: string): ServerAddress {
  const scheme = /^([a-z]+):\/\//i.exec(text);
  const tls = scheme?.[1]?.toLowerCase() === "tls";
  if (scheme && !tls && scheme[1]!.toLowerCase() !== "tcp") throw new CliError("USAGE", `not a server address: ${text} (expected host:port or tls://host:port)`);
  const rest = scheme ? text.slice(scheme[0].length) : text;
  const match = /^(?:\[([^\]]+)\]|([^:/]+))(?::(\d{1,5}))?$/.exec(rest);
  const host = match?.[1] ?? match?.[2];
  const port = match?.[3] === undefined ? 7400 : Number(match[3]);
  if (!host || port < 1 || port > 65535) throw new CliError("USAGE", `not a server address: ${text} (expected host:port or tls://host:port)`);
  return tls ? { host, port, tls } : { host, port };
}

export function formatServer(a: ServerAddress): string {
  const hostPort = a.host.includes(":") ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
  return a.tls ? `tls://${hostPort}` : hostPort;
}

/** The addresses in turn, starting at a random one so clients spread over the edges. */
export function rotation<T>(items: readonly T[], random: () => number): T[] {
  const start = Math.floor(random() * items.length) % Math.max(items.length, 1);
  return [...items.slice(start), ...items.slice(0, start)];
}
