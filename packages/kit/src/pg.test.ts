import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { isDatabaseUnavailable } from "./pg.ts";

function withCode(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

describe("isDatabaseUnavailable", () => {
  it("recognises a Postgres that is down, shutting down, starting or gone from under a connection", () => {
    for (const err of [
      withCode("terminating connection due to administrator command", "57P01"),
      withCode("the database system is shutting down", "57P03"),
      withCode("connection failure", "08006"),
      withCode("connect ECONNREFUSED 127.0.0.1:5432", "ECONNREFUSED"),
      withCode("read ECONNRESET", "ECONNRESET"),
      new Error("Connection terminated unexpectedly"),
      new Error("timeout exceeded when trying to connect"),
    ]) assert.ok(isDatabaseUnavailable(err), err.message);
  });

  it("leaves query errors and bugs alone", () => {
    for (const err of [
      withCode("duplicate key value violates unique constraint", "23505"),
      withCode('relation "x" does not exist', "42P01"),
      new TypeError("cannot read properties of undefined"),
      "not an error",
    ]) assert.ok(!isDatabaseUnavailable(err), String(err));
  });
});
