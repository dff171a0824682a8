import { ExpiringCache, type ServiceCall } from "@natter/kit";
import type { AuthApi } from "@natter/protocol";
import type { Recipients } from "../../domain/ports.ts";

/** Accounts are never renamed to another id, so an answer may be kept a while. */
const TTL_MS = 60_000;
const MAX_ENTRIES = 100_000;

/**
 * Whether a recipient id belongs to an account, asked of auth once a minute at most per
 * id, so a send to someone already known costs no round trip. A send to an id nobody has
 * is refused before anything is stored.
 */
export class RecipientCache implements Recipients {
  private readonly answers = new ExpiringCache<boolean>(TTL_MS, MAX_ENTRIES);

  constructor(private readonly auth: ServiceCall<typeof AuthApi>) {}

  exists(userId: string): Promise<boolean> {
    return this.answers.get(userId, async () => (await this.auth("exists", { userId })).exists);
  }
}
