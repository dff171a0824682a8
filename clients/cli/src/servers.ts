import { CliError } from "./errors.ts";

export const DEFAULT_SERVER = "127.0.0.1:7400";

export interface ServerAddress {
  host: string;
  port: number;
}

/** Parses `host:port,host:port` (IPv6 as `[::1]:7400`); a missing port means 7400. */
export function parseServers(list: string): ServerAddress[] {
  const parts = list.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
  if (parts.length === 0) throw new CliError("USAGE", "--server needs at least one host:port");
  return parts.map(parseServer);
}

export function parseServer(text: string): ServerAddress {
  const match = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d{1,5}))?$/.exec(text);
  const host = match?.[1] ?? match?.[2];
  const port = match?.[3] === undefined ? 7400 : Number(match[3]);
  if (!host || port < 1 || port > 65535) throw new CliError("USAGE", `not a server address: ${text} (expected host:port)`);
  return { host, port };
}

export function formatServer(a: ServerAddress): string {
  return a.host.includes(":") ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** The addresses in turn, starting at a random one so clients spread over the edges. */
export function rotation<T>(items: readonly T[], random: () => number): T[] {
  const start = Math.floor(random() * items.length) % Math.max(items.length, 1);
  return [...items.slice(start), ...items.slice(0, start)];
}
