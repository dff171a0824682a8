import type { GroupEnvelope, InboxMessage, SessionGrant } from "@natter/protocol";

/** Who a connection is, once authenticated. */
export interface Identity {
  readonly userId: string;
  readonly username: string;
  readonly sid: string;
}

/** Checks session tokens (JWTs signed by auth). Throws NatterError TOKEN_EXPIRED / TOKEN_INVALID. */
export interface TokenVerifier {
  verify(token: string): Promise<Identity>;
}

/** Stores a message in a user's inbox; resolves once it is durably stored. */
export interface InboxPublisher {
  publish(to: string, message: InboxMessage): Promise<void>;
  /** Stores a group message for the group service to fan out; resolves once stored. */
  publishGroup(envelope: GroupEnvelope): Promise<void>;
}

/** One delivered message, waiting for the client's ack. */
export interface Delivery {
  /** The message's id, which the client's ack names. */
  readonly id: string;
  /** Its `deliver` frame, encoded. */
  readonly frame: Uint8Array;
  ack(): void;
}

/** The feed of a receiving device: what waits in its inbox, then what arrives. */
export interface DeviceFeed {
  stop(): Promise<void>;
}

export interface Inbox extends InboxPublisher {
  open(userId: string, onDelivery: (delivery: Delivery) => void, onLost: (error: Error) => void): Promise<DeviceFeed>;
}

/** What one connection tells the rest of the cluster, and hears from it. */
export interface SessionBus {
  /** True when any connection of the user is live anywhere. */
  isConnected(userId: string): Promise<boolean>;
  /** Registers a live connection; `onKick` runs when another connection takes over or logs the session out. */
  join(identity: Identity, connId: string, onKick: (reason: "takeover" | "logout") => void): SessionMembership;
  /** Closes every other connection of the user (takeover) or of one session (logout). */
  kick(userId: string, scope: { sid?: string; except: string; reason: "takeover" | "logout" }): void;
}

export interface SessionMembership {
  /** Claims the right to receive; false when another connection of the account already does. */
  claimReceiver(): Promise<boolean>;
  leave(): void;
}

export type Grant = SessionGrant;

/** Where encrypted files are kept, by random id. */
export interface FileStore {
  /** Stores everything `source` yields; on any failure nothing of it is left behind. */
  put(id: string, source: ReadableStream<Uint8Array>): Promise<{ size: number }>;
  /** The stored bytes, or null when there is no such file. `done` rejects if the store finds it damaged. */
  get(id: string): Promise<{ data: ReadableStream<Uint8Array>; size: number } | null>;
}

/** A user's file storage set aside for one upload. */
export interface QuotaReservation {
  /** Gives it back: the upload did not complete. */
  release(): Promise<void>;
}

/** How much file storage each user may use (what their files take until they expire). */
export interface FileQuota {
  /** Sets aside `bytes` of the user's quota; undefined when that would pass it. */
  reserve(userId: string, bytes: number): Promise<QuotaReservation | undefined>;
}

/** Tells presence who is connected here. */
export interface PresenceReport {
  connected(identity: Identity): void;
  disconnected(identity: Identity): void;
}

/** Whether a login session is still active (auth keeps sessions; edges may remember its answer). */
export interface SessionCheck {
  isActive(sid: string): Promise<boolean>;
}

/** Which user ids belong to accounts (kept by auth). */
export interface Recipients {
  exists(userId: string): Promise<boolean>;
}

/** Whom users block (kept by auth). */
export interface BlockList {
  /** True when `recipient` has blocked `sender`. */
  blocks(recipient: string, sender: string): Promise<boolean>;
}

/** What the edge counts for operators. */
export interface EdgeMetrics {
  frameIn(type: string): void;
  frameOut(type: string): void;
  /** A message (1:1 or group) stored and accepted; `seconds` spent waiting for JetStream. */
  accepted(seconds: number): void;
  publishFailed(): void;
  delivered(): void;
}
