/**
 * @natter/presence: who is online (from the edges' events), when users were last seen,
 * and the live edges with their load. `startPresence` runs a replica in process (tests,
 * launchers); `src/main.ts` is its entry point.
 */
export { startPresence, type RunningPresence } from "./start-presence.ts";
export { PresenceEnv, PRESENCE_SECRETS, loadPresenceConfig, type PresenceConfig } from "./config.ts";
export { PresenceService, type PresenceDeps, type PresenceSettings } from "./domain/presence-service.ts";
export { OnlineView, type EdgeLoad, type LiveEdge, type PresentUser, type SeenUser } from "./domain/online-view.ts";
export type { LastSeenStore } from "./domain/last-seen-store.ts";
export type { BlockList } from "./domain/block-list.ts";
export type { SyncRequester } from "./domain/sync-requester.ts";
