import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { backoffDelay } from "./backoff.ts";
import { connectAny } from "./connection.ts";
import { tlsFailure } from "./dial.ts";
import { formatServer, parseServers, rotation } from "./servers.ts";
import type { Dialer } from "./connection.ts";
import { duplexPair } from "../testing/duplex-pair.ts";
import { answerHello, welcome } from "../testing/hello-stub.ts";

describe("server addresses", () => {
  it("parses a comma-separated list, IPv6 in brackets, 7400 by default", () => {
    assert.deepEqual(parseServers("a:1, b ,[::1]:7401"), [
      { host: "a", port: 1 },
      { host: "b", port: 7400 },
      { host: "::1", port: 7401 },
    ]);
    assert.equal(formatServer({ host: "::1", port: 7401 }), "[::1]:7401");
  });

  it("refuses what is not an address", () => {
    for (const bad of ["", ",", "a:0", "a:70000", "a:b", "https://a:1", "tls://"]) assert.throws(() => parseServers(bad), { code: "USAGE" }, bad);
  });

  it("reads tls:// as TLS and writes it back the same way; tcp:// and no scheme are TCP", () => {
    assert.deepEqual(parseServers("tls://edge.example:7443,TLS://[::1],tcp://b:2"), [
      { host: "edge.example", port: 7443, tls: true },
      { host: "::1", port: 7400, tls: true },
      { host: "b", port: 2 },
    ]);
    assert.equal(formatServer({ host: "::1", port: 7400, tls: true }), "tls://[::1]:7400");
  });

  it("stays on TLS when a TLS edge redirects to another", async () => {
    // Scripted hellos behind the client's dialer: edge-a over TLS redirects to edge-b,
    // which answers over TLS and over plain TCP alike, so only the address tells them apart.
    const edges = new Map([
      ["tls://edge-a:7400", { t: "redirect", to: "edge-b:7400" } as const],
      ["tls://edge-b:7400", welcome("edge-b")],
      ["edge-b:7400", welcome("edge-b")],
    ]);
    const dial: Dialer = async (address) => {
      const reply = edges.get(formatServer(address));
      if (!reply) throw Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
      const [client, edge] = duplexPair();
      answerHello(edge, reply);
      return client;
    };
    const connection = await connectAny(parseServers("tls://edge-a:7400"), dial, () => 0);
    assert.equal(connection.address, "tls://edge-b:7400");
    connection.destroy();
  });

  it("tells an untrusted certificate and a server that is not TLS apart from one that is down", () => {
    const at = { host: "edge", port: 7443, tls: true as const };
    const untrusted = tlsFailure(at, Object.assign(new Error("x"), { code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE" }));
    assert.equal((untrusted as { code?: string }).code, "TLS_UNTRUSTED");
    assert.match(untrusted.message, /tls:\/\/edge:7443 is not trusted .*--ca/);
    assert.equal((tlsFailure(at, Object.assign(new Error("x"), { code: "ERR_TLS_CERT_ALTNAME_INVALID" })) as { code?: string }).code, "TLS_UNTRUSTED");
    assert.equal((tlsFailure(at, Object.assign(new Error("x"), { code: "ERR_SSL_WRONG_VERSION_NUMBER" })) as { code?: string }).code, "TLS_FAILED");
    assert.equal((tlsFailure(at, Object.assign(new Error("x"), { code: "ECONNREFUSED" })) as { code?: string }).code, "ECONNREFUSED");
  });

  it("tries every address once, from a random start", () => {
    fc.assert(
      fc.property(fc.array(fc.integer(), { minLength: 1, maxLength: 8 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (xs, r) => {
        const order = rotation(xs, () => r);
        assert.deepEqual([...order].sort(), [...xs].sort());
      }),
    );
  });
});

describe("reconnect backoff", () => {
  it("starts near 0.2 s, grows, and never passes 5 s", () => {
    assert.ok(backoffDelay(0, () => 0) >= 100 && backoffDelay(0, () => 1) <= 200);
    fc.assert(
      fc.property(fc.nat(100), fc.double({ min: 0, max: 1, noNaN: true }), (attempt, r) => {
        const d = backoffDelay(attempt, () => r);
        return d >= 100 && d <= 5_000;
      }),
    );
    assert.equal(backoffDelay(30, () => 1), 5_000);
  });
});
