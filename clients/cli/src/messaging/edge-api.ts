import type { GroupView, SignedPrekey, PrekeyBundle, ServerFrameOf } from "@natter/protocol";

/** My one-time prekeys the server holds, of each kind, and whether it holds my last-resort KEM prekey. */
export interface PrekeyCounts {
  count: number;
  kemCount: number;
  kemLastResort: boolean;
}

/** A prekey bundle claimed for a user, to start a session with them. */
export interface ClaimedBundle {
  userId: string;
  username: string;
  bundle: PrekeyBundle;
}

/** The group commands that change a group, each carrying the signed entry that makes the change. */
export type GroupChangeOp = "create" | "join" | "add" | "remove" | "leave" | "admin" | "close";

/**
 * The edge requests the messenger needs. `edgeApiOverLink` sends them as frames on a link;
 * tests answer them in memory.
 */
export interface EdgeApi {
  claim(user: string): Promise<ClaimedBundle>;
  lookup(user: string): Promise<{ userId: string; username: string; identityKey: string }>;
  send(msg: { id: string; to: string; body: Uint8Array }): Promise<void>;
  /**
   * Adds one-time prekeys, curve and (`addKem`) ML-KEM-768 ones (`replace` drops the unused
   * ones of both kinds first); returns how many the server holds.
   */
  prekeys(add: SignedPrekey[], replace?: boolean, addKem?: SignedPrekey[]): Promise<PrekeyCounts>;
  /** Replaces my key backup on the server with one sealed again (`resealBackup`). */
  putBackup(backup: string): Promise<void>;
  /** Replaces my signed prekey on the server (after a rotation), and my last-resort KEM prekey when given. */
  signedPrekey(key: SignedPrekey, kemLastResort?: SignedPrekey): Promise<void>;
  /** A group's members now (NOT_A_MEMBER unless I am one). */
  members(group: string): Promise<Omit<ServerFrameOf<"members">, "t" | "id">>;
  /** A group's signed entries after seq `after`, and its head (NO_SUCH_GROUP; GROUP_CLOSED for a closed group I am not in). */
  chain(group: string, after: number): Promise<Omit<ServerFrameOf<"chain">, "t" | "id">>;
  /** Sends a signed change of a group; answers the group as the server now has it. */
  groupChange(req: { op: GroupChangeOp; name: string; entry: string; user?: string; members?: string[] }): Promise<GroupView>;
  /** Publishes a group message sealed with my sender key. */
  gsend(msg: { id: string; group: string; body: Uint8Array }): Promise<void>;
}
