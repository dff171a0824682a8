import { BlockList, isIP } from "node:net";
import type { Dialer } from "./connection.ts";
import { formatServer, type ServerAddress } from "./servers.ts";

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet("127.0.0.0", 8, "ipv4");
LOOPBACK.addAddress("::1", "ipv6");

/**
 * True for an address that never leaves this machine: 127.0.0.0/8, ::1 (in any spelling,
 * and 127.x.y.z mapped into IPv6) and localhost. Anything else may cross a network.
 */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, "");
  if (h === "localhost") return true;
  const family = isIP(h);
  if (family === 4) return LOOPBACK.check(h, "ipv4");
  if (family === 6) return LOOPBACK.check(h, "ipv6");
  return false;
}

/** The one line a user sees the first time their home talks plain TCP beyond loopback. */
export function plainTcpWarning(address: ServerAddress): string {
  const hostPort = formatServer(address);
  return (
    `warning: ${hostPort} is plain TCP: messages stay end-to-end encrypted, but your login, ` +
    `who talks to whom and when are visible on the network; use --server tls://${hostPort} ` +
    `(and --ca <file> or NATTER_CA for a private CA) to encrypt the connection`
  );
}

/** What the warning needs: to learn, once per home, whether it was already shown, and a place to say it. */
export interface PlainTcpWarningOptions {
  /** True only the first time this home asks (the home keeps a marker). */
  firstTime: () => Promise<boolean>;
  /** One line to stderr. */
  warn: (line: string) => void;
}

/**
 * A dialer that, before its first plain TCP dial to an address outside loopback, warns
 * once per home. TLS dials and loopback addresses (where the e2e suites and `npm start` run)
 * never warn; the marker is only asked about when a warning could be due.
 */
export function warnOnPlainTcp(dial: Dialer, options: PlainTcpWarningOptions): Dialer {
  let decided: Promise<void> | undefined;
  return async (address, dialOptions) => {
    if (address.tls !== true && !isLoopback(address.host)) {
      // A home that cannot keep the marker is warned every time rather than not at all.
      decided ??= options.firstTime().catch(() => true).then((first) => {
        if (first) options.warn(plainTcpWarning(address));
      });
      await decided;
    }
    return dial(address, dialOptions);
  };
}
