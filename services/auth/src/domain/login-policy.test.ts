import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { LoginState } from "./attempt-store.ts";
import { DEFAULT_LOGIN_POLICY as policy, admitLogin, loginSucceeded } from "./login-policy.ts";

const T0 = Date.UTC(2030, 0, 1);
const fresh: LoginState = {
  pair: { failures: 0, lockedUntil: undefined, knownSince: undefined },
  account: { failures: 0, notBefore: undefined, lastFailureAt: undefined },
};

/** Runs attempts that all fail, from one address, carrying the state along; answers each admission. */
function failFrom(state: LoginState, count: number, now: number): { state: LoginState; admitted: boolean[] } {
  const admitted: boolean[] = [];
  for (let i = 0; i < count; i++) {
    const decided = admitLogin(state, now, policy);
    state = decided.state;
    admitted.push(decided.admission.admitted);
  }
  return { state, admitted };
}

describe("login policy", () => {
  it("counts an attempt before its password is checked, and locks the address out after three in a row for 60 s", () => {
    const { state, admitted } = failFrom(fresh, 5, T0);
    assert.deepEqual(admitted, [true, true, true, false, false]);
    const refused = admitLogin(state, T0 + 59_999, policy).admission;
    assert.deepEqual(refused, { admitted: false, until: T0 + 60_000 });
    const after = admitLogin(state, T0 + 60_000, policy);
    assert.deepEqual(after.admission, { admitted: true });
    assert.equal(after.state.pair.failures, 1, "a lock that ended starts a fresh round");
  });

  it("takes the attempt back when the password was right: the address starts again and is known from then on", () => {
    let state = failFrom(fresh, 2, T0).state;
    state = admitLogin(state, T0, policy).state;
    state = loginSucceeded(state, T0);
    assert.deepEqual(state.pair, { failures: 0, lockedUntil: undefined, knownSince: T0 });
    assert.equal(state.account.failures, 2, "the earlier failures still count for the account");
  });

  it("makes addresses the owner never used wait a doubling delay once the account has had many failures", () => {
    let account = fresh.account;
    const admissions: boolean[] = [];
    for (let i = 0; i < policy.accountDelayAfter + 1; i++) {
      const decided = admitLogin({ pair: fresh.pair, account }, T0, policy);
      account = decided.state.account;
      admissions.push(decided.admission.admitted);
    }
    assert.deepEqual(admissions, [...Array(policy.accountDelayAfter).fill(true), false]);
    assert.equal(account.notBefore, T0 + policy.accountDelayMs);
    const next = admitLogin({ pair: fresh.pair, account }, T0 + policy.accountDelayMs, policy);
    assert.equal(next.admission.admitted, true);
    assert.equal(next.state.account.notBefore, T0 + 3 * policy.accountDelayMs, "twice as long after the next failure");
  });

  it("never delays an address the owner logged in from, however many strangers fail", () => {
    const account = { failures: 500, notBefore: T0 + policy.accountMaxDelayMs, lastFailureAt: T0 };
    const owner = { failures: 0, lockedUntil: undefined, knownSince: T0 - 86_400_000 };
    assert.deepEqual(admitLogin({ pair: owner, account }, T0, policy).admission, { admitted: true });
    assert.equal(admitLogin({ pair: fresh.pair, account }, T0, policy).admission.admitted, false);
  });

  it("caps the delay, and forgets the account's failures after a quiet day", () => {
    const account = { failures: 200, notBefore: undefined, lastFailureAt: T0 };
    assert.equal(admitLogin({ pair: fresh.pair, account }, T0, policy).state.account.notBefore, T0 + policy.accountMaxDelayMs);
    const later = T0 + policy.accountQuietMs + 1;
    assert.equal(admitLogin({ pair: fresh.pair, account }, later, policy).state.account.failures, 1);
  });
});
