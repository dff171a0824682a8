import type { NatsConnection } from "@nats-io/transport-node";
import { call } from "@natter/kit";
import { AuthApi, type Names } from "@natter/protocol";
import type { User } from "../../domain/group-state.ts";
import type { UserDirectory } from "../../domain/ports.ts";

/** Resolves usernames with the auth service's `user` verb (NO_SUCH_USER passes through). */
export class AuthUserDirectory implements UserDirectory {
  constructor(private readonly nc: NatsConnection, private readonly n: Names) {}

  async resolve(username: string): Promise<User> {
    const found = await call(this.nc, this.n.auth("user"), AuthApi.user, { username });
    return { userId: found.userId, username: found.username };
  }
}
