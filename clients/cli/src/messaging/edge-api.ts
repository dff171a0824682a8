import type { SignedPrekey, PrekeyBundle, ServerFrameOf } from "@natter/protocol";

/** A prekey bundle claimed for a user, to start a session with them. */
export interface ClaimedBundle {
  userId: string;
  username: string;
  bundle: PrekeyBundle;
}

/**
 * The edge requests the messenger needs. `edgeApiOverLink` sends them as frames on a link;
 * tests answer them in memory.
 */
export interface EdgeApi {
  claim(user: string): Promise<ClaimedBundle>;
  lookup(user: string): Promise<{ userId: string; username: string; identityKey: string }>;
  send(msg: { id: string; to: string; body: Uint8Array }): Promise<void>;
  /** Adds one-time prekeys (`replace` drops the unused ones first); returns how many the server holds. */
  prekeys(add: SignedPrekey[], replace?: boolean): Promise<number>;
  /** Replaces my key backup on the server with one sealed again (`resealBackup`). */
  putBackup(backup: string): Promise<void>;
  /** Replaces my signed prekey on the server (after a rotation). */
  signedPrekey(key: SignedPrekey): Promise<void>;
  /** A group's members now (NOT_A_MEMBER unless I am one). */
  members(group: string): Promise<Omit<ServerFrameOf<"members">, "t" | "id">>;
  /** Publishes a group message sealed with my sender key. */
  gsend(msg: { id: string; group: string; body: Uint8Array }): Promise<void>;
}
