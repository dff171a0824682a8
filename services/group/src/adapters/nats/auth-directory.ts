import type { NatsConnection } from "@nats-io/transport-node";
import { call } from "@natter/kit";
import { AuthApi, type Names } from "@natter/protocol";
import type { KeyedUser, UserDirectory } from "../../domain/ports.ts";

/** Resolves usernames, with their identity keys, by the auth service's `user` verb (NO_SUCH_USER passes through). */
export class AuthUserDirectory implements UserDirectory {
  constructor(private readonly nc: NatsConnection, private readonly n: Names) {}

  async resolve(username: string): Promise<KeyedUser> {
    const found = await call(this.nc, this.n.auth("user"), AuthApi.user, { username });
    return { userId: found.userId, username: found.username, identityKey: found.identityKey };
  }
}
