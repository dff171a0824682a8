import { NatterError, type AuthApi, type VerbRequest, type VerbResult } from "@natter/protocol";
import type { Clock } from "@natter/kit";
import type { AccountStore } from "./account-store.ts";
import type { BlockPublisher } from "./block-publisher.ts";
import type { BlockStore } from "./block-store.ts";
import type { ProfileStore } from "./profile-store.ts";

export interface PrivacyDeps {
  accounts: AccountStore;
  blocks: BlockStore;
  profiles: ProfileStore;
  events: BlockPublisher;
  clock: Clock;
}

/**
 * Blocks and encrypted profiles. A block is made by one user, but hides presence and
 * profiles both ways; someone hidden by a block looks exactly like a missing user.
 */
export class PrivacyService {
  constructor(private readonly deps: PrivacyDeps) {}

  async block(req: VerbRequest<AuthApi, "block">): Promise<VerbResult<AuthApi, "block">> {
    const target = await this.target(req.username);
    if (target === req.userId) throw new NatterError("CANNOT_BLOCK_SELF");
    if (await this.deps.blocks.block(req.userId, target, this.deps.clock.now())) {
      this.deps.events.publish({ blocker: req.userId, blocked: target, blocking: true });
    }
    return {};
  }

  async unblock(req: VerbRequest<AuthApi, "unblock">): Promise<VerbResult<AuthApi, "unblock">> {
    const target = await this.target(req.username);
    if (await this.deps.blocks.unblock(req.userId, target)) {
      this.deps.events.publish({ blocker: req.userId, blocked: target, blocking: false });
    }
    return {};
  }

  async blocks(req: VerbRequest<AuthApi, "blocks">): Promise<VerbResult<AuthApi, "blocks">> {
    return this.deps.blocks.blocksOf(req.userId);
  }

  async profile(req: VerbRequest<AuthApi, "profile">): Promise<VerbResult<AuthApi, "profile">> {
    if (req.put !== undefined) {
      if (!(await this.deps.profiles.put(req.userId, req.put.blob, this.deps.clock.now()))) throw new NatterError("NO_SUCH_USER");
      return { blob: req.put.blob };
    }
    const blob = await this.deps.profiles.get(req.userId);
    if (blob === undefined) throw new NatterError("NO_SUCH_USER");
    return { blob };
  }

  /** Whether an account has the id (its profile row exists with it, empty or not). */
  async exists(req: VerbRequest<AuthApi, "exists">): Promise<VerbResult<AuthApi, "exists">> {
    return { exists: (await this.deps.profiles.get(req.userId)) !== undefined };
  }

  async profileOf(req: VerbRequest<AuthApi, "profileOf">): Promise<VerbResult<AuthApi, "profileOf">> {
    const account = await this.deps.accounts.findByName(req.username);
    // The same error, with the same message, as for a name nobody has.
    if (!account || (await this.deps.blocks.eitherBlocks(req.userId, account.id))) throw new NatterError("NO_SUCH_USER");
    const blob = await this.deps.profiles.get(account.id);
    return { userId: account.id, username: account.username, blob: blob ?? null };
  }

  private async target(username: string): Promise<string> {
    const account = await this.deps.accounts.findByName(username);
    if (!account) throw new NatterError("NO_SUCH_USER");
    return account.id;
  }
}
