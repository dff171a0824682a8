import { connect as tcpConnect, isIP, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { connect as tlsConnect } from "node:tls";
import type { DialOptions, Dialer } from "./connection.ts";
import { CliError } from "../errors.ts";
import { formatServer, type ServerAddress } from "./servers.ts";

const CONNECT_TIMEOUT_MS = 3_000;

/** OpenSSL's and Node's names for a certificate that does not check out. */
const UNTRUSTED = /CERT|ISSUER|SELF_SIGNED|SIGNATURE|ALTNAME|HOSTNAME|INVALID_CA|CHAIN/;

/**
 * Opens a connection to an edge: TCP for `host:port`, TLS for `tls://host:port`, the
 * edge's certificate checked against `ca` when given, else the system's CAs, and against
 * the host name (or IP address) dialled. A certificate that does not check out, or an edge
 * that does not speak TLS, is a refusal (exit 1: trying again will not help); an edge that
 * does not answer is just not there (NO_SERVICE once none answers).
 */
export const dial: Dialer = (address: ServerAddress, options: DialOptions = {}): Promise<Duplex> => {
  return new Promise((resolve, reject) => {
    const socket: Socket = address.tls
      ? tlsConnect({
          host: address.host,
          port: address.port,
          ...(isIP(address.host) === 0 ? { servername: address.host } : {}),
          ...(options.ca === undefined ? {} : { ca: Buffer.from(options.ca) }),
          minVersion: "TLSv1.2",
        })
      : tcpConnect({ host: address.host, port: address.port });
    socket.setNoDelay(true);
    socket.setTimeout(CONNECT_TIMEOUT_MS, () => socket.destroy(new Error("connect timeout")));
    const fail = (err: Error & { code?: string }): void => reject(address.tls ? tlsFailure(address, err) : err);
    socket.once(address.tls ? "secureConnect" : "connect", () => {
      socket.setTimeout(0);
      socket.removeListener("error", fail);
      resolve(socket);
    });
    socket.once("error", fail);
  });
};

/** What a failed TLS dial means to the user. */
export function tlsFailure(address: ServerAddress, err: Error & { code?: string }): Error {
  const code = err.code ?? "";
  const where = formatServer(address);
  if (UNTRUSTED.test(code)) {
    return new CliError("TLS_UNTRUSTED", `the TLS certificate of ${where} is not trusted (${code}): give its CA with --ca <file> or NATTER_CA`, { cause: err });
  }
  if (code.startsWith("ERR_SSL_") || code === "EPROTO") {
    return new CliError("TLS_FAILED", `${where} did not answer in TLS: is it a TLS edge? (use host:port for plain TCP)`, { cause: err });
  }
  return err;
}
