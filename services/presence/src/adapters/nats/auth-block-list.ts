import { AuthApi, type Names } from "@natter/protocol";
import { call, type NatsConnection } from "@natter/kit";
import type { BlockList } from "../../domain/block-list.ts";

/**
 * Asks auth, which keeps the blocks, on every question: `who` is rare next to the
 * events, and an answer never lags a block. When auth does not answer, neither does
 * `who` (UNAVAILABLE) rather than show someone a block should hide.
 */
export class AuthBlockList implements BlockList {
  constructor(
    private readonly nc: NatsConnection,
    private readonly n: Names,
  ) {}

  async hiddenFrom(userId: string): Promise<ReadonlySet<string>> {
    const { blocking, blockedBy } = await call(this.nc, this.n.auth("blocks"), AuthApi.blocks, { userId });
    return new Set([...blocking, ...blockedBy]);
  }
}
