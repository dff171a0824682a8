import { z } from "zod";
import { ERRORS, type ErrorCode } from "./errors.ts";

/** One request/reply verb of a service: its request and result schemas. */
export interface Verb<Req extends z.ZodType = z.ZodType, Res extends z.ZodType = z.ZodType> {
  readonly req: Req;
  readonly res: Res;
}

export function verb<Req extends z.ZodType, Res extends z.ZodType>(req: Req, res: Res): Verb<Req, Res> {
  return { req, res };
}

/** What a handler of verb `K` of the API `A` is given: the request as its schema parsed it (defaults filled in). */
export type VerbRequest<A extends Record<string, Verb>, K extends keyof A> = z.output<A[K]["req"]>;

/** What a handler of verb `K` of the API `A` answers, before the verb's result schema checks it. */
export type VerbResult<A extends Record<string, Verb>, K extends keyof A> = z.input<A[K]["res"]>;

const codes = Object.keys(ERRORS) as [ErrorCode, ...ErrorCode[]];

/** Every service reply is one of these, JSON-encoded. */
export const RpcReply = z.discriminatedUnion("ok", [
  z.object({ ok: z.literal(true), data: z.unknown() }),
  z.object({ ok: z.literal(false), code: z.enum(codes), message: z.string(), detail: z.record(z.string(), z.unknown()).optional() }),
]);
export type RpcReply = z.infer<typeof RpcReply>;
