/**
 * End to end: the full-screen app (`natter` on a terminal) run in a real terminal (tmux, on
 * a private server of its own) against the real stack, driven by keys and read off the screen.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { startFixture, type Fixture } from "../support/stack-fixture.ts";
import { natter, newHome } from "../support/cli.ts";

const PASSWORD = "correct horse battery";
const bin = resolve(import.meta.dirname, "../../clients/cli/bin/natter.js");
const hasTmux = spawnSync("tmux", ["-V"]).status === 0;
const socket = `natter-app-test-${process.pid}`;
let fx: Fixture;

function tmux(...args: string[]): string {
  return execFileSync("tmux", ["-L", socket, "-f", "/dev/null", ...args], { encoding: "utf8" });
}

function screen(): string {
  return tmux("capture-pane", "-p", "-t", "app");
}

/** Polls the pane until `check` holds (at most `ms`); answers the screen. */
async function waitForScreen(check: (s: string) => boolean, what: string, ms = 30_000): Promise<string> {
  const deadline = Date.now() + ms;
  let s = "";
  while (Date.now() < deadline) {
    s = screen();
    if (check(s)) return s;
    await new Promise((r) => setTimeout(r, 200));
  }
  const processes = spawnSync("ps", ["-o", "pid,stat,time,etime,args", "--ppid", tmux("display-message", "-p", "-t", "app", "#{pane_pid}").trim()], { encoding: "utf8" }).stdout;
  assert.fail(`the screen never showed ${what}; it shows:\n${s}\nthe pane runs:\n${processes}`);
}

async function register(name: string): Promise<string> {
  const home = newHome();
  const r = await natter(home, fx.stack.servers, ["register", name, "--password-stdin"], { stdin: `${PASSWORD}\n` });
  assert.equal(r.code, 0, `register ${name}: ${r.stderr}`);
  return home;
}

/** bob's natter takes receipts in until his history shows `want` for the message (or 30 s pass); answers the status. */
async function statusAtBob(bob: string, id: string, want: string): Promise<string> {
  let status = "";
  for (const deadline = Date.now() + 30_000; status !== want && Date.now() < deadline;) {
    const r = await natter(bob, fx.stack.servers, ["receive", "--wait", "1"]);
    assert.equal(r.code, 0, r.stderr);
    const h = await natter(bob, fx.stack.servers, ["history", "alice"]);
    status = String(h.json.find((e) => e["id"] === id)?.["status"]);
  }
  return status;
}

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

before(async () => {
  fx = await startFixture({ edges: 1 });
});

after(async () => {
  if (hasTmux) {
    // The server goes, and its socket file with it.
    const path = spawnSync("tmux", ["-L", socket, "display-message", "-p", "#{socket_path}"], { encoding: "utf8" }).stdout.trim();
    spawnSync("tmux", ["-L", socket, "kill-server"]);
    if (path !== "") rmSync(path, { force: true });
  }
  await fx?.stop();
});

describe("the line shell", () => {
  it("runs as `natter shell`, reading commands from standard input", async () => {
    const carol = await register("carol");
    await register("dave");
    const r = await natter(carol, fx.stack.servers, ["shell"], { stdin: "help\nsend dave hello from the shell\nquit\n" });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /send <user> <text…> +send a message/);
    assert.ok(r.json.some((l) => l["to"] === "dave" && l["status"] === "accepted"), r.stdout);
  });
});

describe("the full-screen app", { skip: hasTmux ? false : "tmux is not installed: the full-screen app is driven through it" }, () => {

  it("counts a message in the list, clears it when opened, sends a read receipt then, follows a resize and ends cleanly", { timeout: 120_000 }, async () => {
    const alice = await register("alice");
    const bob = await register("bob");
    const exitFile = join(alice, "app-exit-code");
    // CI=true as some shells set it: the app draws all the same (ink alone would hold every frame back).
    const command = `env NATTER_HOME= NATTER_SERVER= CI=true ${quote(process.execPath)} ${quote(bin)} --home ${quote(alice)} --server ${quote(fx.stack.servers)}; echo $? > ${quote(exitFile)}; sleep 30`;
    tmux("new-session", "-d", "-s", "app", "-x", "100", "-y", "24", command);
    await waitForScreen((s) => s.includes("connected as alice"), "the app connected");

    const sent = await natter(bob, fx.stack.servers, ["send", "alice", "hello from bob"]);
    assert.equal(sent.code, 0, sent.stderr);
    const messageId = String(sent.json[0]?.["id"]);
    await waitForScreen((s) => /bob \(1\)/.test(s), "bob's message counted unread");
    assert.equal(tmux("display-message", "-p", "-t", "app", "#{pane_title}").trim(), "natter (1)");
    // Kept and delivered, but not read while its conversation is closed.
    assert.equal(await statusAtBob(bob, messageId, "delivered"), "delivered");

    tmux("send-keys", "-t", "app", "Enter");
    const opened = await waitForScreen((s) => s.includes("hello from bob") && !/bob \(1\)/.test(s) && /▸bob/.test(s), "the conversation open and read");
    assert.doesNotMatch(opened, /bob \(\d+\)/);
    assert.equal(tmux("display-message", "-p", "-t", "app", "#{pane_title}").trim(), "natter");

    assert.equal(await statusAtBob(bob, messageId, "read"), "read");

    // A reply from the input line, the receipt marks, and a clean /quit.
    tmux("send-keys", "-t", "app", "-l", "hi bob, from the app");
    tmux("send-keys", "-t", "app", "Enter");
    await waitForScreen((s) => /me: hi bob, from the app {2}✓/.test(s), "the reply with its sent mark");
    const got = await natter(bob, fx.stack.servers, ["receive", "--wait", "2"]);
    assert.ok(got.json.some((m) => m["text"] === "hi bob, from the app"), got.stdout);
    await waitForScreen((s) => /me: hi bob, from the app {2}✓✓ read/.test(s), "the reply marked read");

    // /help shows in place of the conversation until Esc.
    tmux("send-keys", "-t", "app", "-l", "/help");
    tmux("send-keys", "-t", "app", "Enter");
    await waitForScreen((s) => s.includes("/open <user|#group>") && !s.includes("hello from bob"), "the help");
    tmux("send-keys", "-t", "app", "Escape");
    await waitForScreen((s) => s.includes("hello from bob") && !s.includes("/open <user|#group>"), "the conversation again");

    // A smaller terminal: the frame is drawn again to its new width and height.
    tmux("resize-window", "-t", "app", "-x", "80", "-y", "20");
    const resized = await waitForScreen((s) => s.split("\n")[0]!.trimEnd().length === 80, "the frame redrawn 80 columns wide");
    assert.match(resized, /me: hi bob, from the app {2}✓✓ read/);
    assert.equal(resized.split("\n").filter((l) => /^[│┌└]/.test(l)).length, 17);

    // Ctrl-C: the app ends with 0 and the terminal's own screen comes back.
    tmux("send-keys", "-t", "app", "C-c");
    for (const deadline = Date.now() + 15_000; !existsSync(exitFile) && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 200));
    assert.equal(readFileSync(exitFile, "utf8").trim(), "0");
    assert.doesNotMatch(screen(), /Conversations/);
  });
});
