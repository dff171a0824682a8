import { z } from "zod";
import type { Invocation } from "../invocation.ts";
import type { Link } from "../transport/link.ts";
import type { Messenger } from "../messaging/messenger.ts";
import { blockAction } from "../commands/block.ts";
import { broadcastAction } from "../commands/broadcast.ts";
import { groupAction } from "../commands/group.ts";
import { historyCommand, searchCommand } from "../commands/history.ts";
import { profileSet, profileShow } from "../commands/profile.ts";
import { sendFile } from "../commands/send.ts";
import { trustAction } from "../commands/trust.ts";
import { verifyAction } from "../commands/verify.ts";
import { whoAction } from "../commands/who.ts";
import type { JsonLine } from "./captured-invocation.ts";
import { parseParams } from "./json-rpc.ts";


/**
 * What a method runs with: an invocation whose printer is in `--json` mode and captured
 * (each method runs the same action its command runs, and answers what the command would
 * have printed), and the daemon's link and messenger.
 */
export interface MethodScope {
  ctx: Invocation;
  link: Link;
  messenger: Messenger;
}

interface Method<S extends z.ZodType> {
  params: S;
  run(scope: MethodScope, params: z.output<S>): Promise<void>;
  /** The result from the lines printed: the one object, or the list under a name. */
  answer: "one" | { list: string };
}

/** A method with its params checked: parsing them (-32602 when they do not fit) gives what to run. */
interface Entry {
  prepare(params: unknown): (scope: MethodScope) => Promise<void>;
  answer: Method<z.ZodType>["answer"];
}

const method = <S extends z.ZodType>(m: Method<S>): Entry => ({
  prepare: (params) => {
    const args = parseParams(m.params, params);
    return (scope) => m.run(scope, args);
  },
  answer: m.answer,
});

const user = z.string().min(1).max(64);
const group = z.string().min(1).max(64);
const text = z.string().min(1);
const limit = z.number().int().min(1).max(10_000).optional();

/** The daemon's methods, by name; docs/JSON-RPC.md describes each. */
export const METHODS = {
  send: method({
    params: z.object({ to: user, text }).strict(),
    run: async ({ ctx, messenger }, p) => ctx.printer.sent(await messenger.send(p.to, p.text), false),
    answer: "one",
  }),
  "group.send": method({
    params: z.object({ group, text }).strict(),
    run: ({ ctx, link, messenger }, p) => groupAction(ctx, link, messenger, "send", { name: p.group, text: [p.text] }, false),
    answer: "one",
  }),
  "file.send": method({
    params: z.object({ to: user.optional(), group: group.optional(), path: z.string().min(1), name: z.string().min(1).max(255).optional() }).strict()
      .refine((p) => (p.to === undefined) !== (p.group === undefined), { message: "give either to (a user) or group, not both" }),
    run: ({ ctx, link, messenger }, p) => sendFile(ctx, link, messenger, p.to !== undefined ? { user: p.to } : { group: p.group! }, p.path, p.name, false),
    answer: "one",
  }),
  broadcast: method({
    params: z.object({ text }).strict(),
    run: ({ ctx, link, messenger }, p) => broadcastAction(ctx, link, messenger, p.text),
    answer: "one",
  }),
  history: method({
    params: z.object({ with: z.string().min(1).max(65), limit, before: z.string().min(1).max(40).optional() }).strict(),
    run: ({ ctx }, p) => historyCommand(ctx, p.with, { ...(p.limit === undefined ? {} : { limit: String(p.limit) }), ...(p.before === undefined ? {} : { before: p.before }) }),
    answer: { list: "messages" },
  }),
  "history.forget": method({
    params: z.object({ with: z.string().min(1).max(65) }).strict(),
    run: ({ ctx }, p) => historyCommand(ctx, p.with, { forget: true }),
    answer: "one",
  }),
  search: method({
    params: z.object({ words: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]), with: z.string().min(1).max(65).optional(), limit }).strict(),
    run: ({ ctx }, p) => searchCommand(ctx, typeof p.words === "string" ? p.words.split(/\s+/).filter((w) => w !== "") : p.words, {
      ...(p.with === undefined ? {} : { with: p.with }), ...(p.limit === undefined ? {} : { limit: String(p.limit) }),
    }),
    answer: { list: "messages" },
  }),
  who: method({
    params: z.object({ lastHour: z.boolean().optional() }).strict(),
    run: ({ ctx, link }, p) => whoAction(ctx, link, p.lastHour === true),
    answer: { list: "users" },
  }),
  "group.list": method({
    params: z.object({}).strict(),
    run: ({ ctx, link, messenger }) => groupAction(ctx, link, messenger, "list", {}, false),
    answer: { list: "groups" },
  }),
  "group.members": method({
    params: z.object({ group }).strict(),
    run: ({ ctx, link, messenger }, p) => groupAction(ctx, link, messenger, "members", { name: p.group }, false),
    answer: { list: "members" },
  }),
  "profile.get": method({
    params: z.object({ user: user.optional() }).strict(),
    run: ({ ctx, link, messenger }, p) => profileShow(ctx, link, messenger, p.user),
    answer: "one",
  }),
  "profile.set": method({
    params: z.object({ name: z.string().max(200).optional(), status: z.string().max(500).optional(), avatar: z.string().min(1).optional() }).strict(),
    run: ({ ctx, link, messenger }, p) => profileSet(ctx, link, messenger, p),
    answer: "one",
  }),
  verify: method({
    params: z.object({ user, markVerified: z.boolean().optional() }).strict(),
    run: ({ ctx, messenger }, p) => verifyAction(ctx, messenger, p.user, p.markVerified === true),
    answer: "one",
  }),
  trust: method({
    params: z.object({ user }).strict(),
    run: ({ ctx, messenger }, p) => trustAction(ctx, messenger, p.user),
    answer: "one",
  }),
  block: method({
    params: z.object({ user }).strict(),
    run: ({ ctx, link }, p) => blockAction(ctx, link, p.user, true),
    answer: "one",
  }),
  unblock: method({
    params: z.object({ user }).strict(),
    run: ({ ctx, link }, p) => blockAction(ctx, link, p.user, false),
    answer: "one",
  }),
} as const satisfies Record<string, Entry>;

export type MethodName = keyof typeof METHODS;

export function isMethodName(name: string): name is MethodName {
  return Object.hasOwn(METHODS, name);
}

/** The result of a method from the `--json` lines its action printed. */
export function answerOf(name: MethodName, lines: JsonLine[]): unknown {
  const { answer } = METHODS[name];
  if (answer === "one") return lines[0] ?? {};
  return { [answer.list]: lines };
}
