import type { AuthVerb } from "./auth-api.ts";
import type { GroupVerb } from "./group-api.ts";
import type { PresenceVerb } from "./presence-api.ts";

/** What a namespace may be: it starts every NATS subject, stream and bucket name. */
export const NAMESPACE_PATTERN = /^[a-z0-9_-]{1,32}$/;

/**
 * Every NATS name natter uses, built from one namespace so that test runs and tenants
 * can share one NATS. Subjects carry ids, never usernames or other client text.
 */
export function names(namespace: string) {
  if (!NAMESPACE_PATTERN.test(namespace)) throw new Error(`invalid namespace ${JSON.stringify(namespace)}`);
  const ns = namespace;
  const upper = ns.toUpperCase().replaceAll("-", "_");
  return {
    namespace: ns,
    /** Every user's stored messages, one subject each, republished live as they are stored. */
    inboxStream: `${upper}_INBOX_V2`,
    /** The inbox stream before live republishing (a work queue): its messages move to the new one. */
    legacyInboxStream: `${upper}_INBOX`,
    inboxWildcard: `${ns}.inbox.*`,
    inbox: (userId: string) => `${ns}.inbox.${userId}`,
    /**
     * Where the inbox stream republishes each message it stores, with its sequence (core
     * NATS). The receiving connection's feed listens here, and answers a request there: that
     * is how an edge finds that an account already has one.
     */
    liveWildcard: `${ns}.live.*`,
    live: (userId: string) => `${ns}.live.${userId}`,
    /** Object store bucket of encrypted files. */
    attachments: `${ns}-attachments`,
    /** One message a unit of file storage a user has used, kept as long as files are (the per-user file quota). */
    fileUsageStream: `${upper}_FILE_USAGE`,
    fileUsageWildcard: `${ns}.fileusage.*`,
    fileUsage: (userId: string) => `${ns}.fileusage.${userId}`,
    groupStream: `${upper}_GROUPS`,
    groupWildcard: `${ns}.group.*`,
    group: (groupId: string) => `${ns}.group.${groupId}`,
    auth: (verb: AuthVerb) => `${ns}.svc.auth.${verb}`,
    authQueue: `${ns}-auth`,
    groupSvc: (verb: GroupVerb) => `${ns}.svc.group.${verb}`,
    groupQueue: `${ns}-group`,
    /** Every live authenticated connection of a user listens here (pings, kicks). */
    session: (userId: string) => `${ns}.sess.${userId}`,
    event: (topic: string) => `${ns}.evt.${topic}`,
    presence: (verb: PresenceVerb) => `${ns}.svc.presence.${verb}`,
    presenceQueue: `${ns}-presence`,
    /** Edges' connects and disconnects, and their answers to a presence sync (core NATS). */
    presenceEvents: `${ns}.evt.presence`,
    /** Presence asks edges to republish who is connected to them. */
    presenceSync: `${ns}.evt.presence-sync`,
    /** Every edge's load, every 2 s. */
    edgeHeartbeat: `${ns}.evt.edge`,
    /** Auth announces every block and unblock, so edges drop cached block lists. */
    blockEvents: `${ns}.evt.blocks`,
    /** The group service announces every change of a group, for its replicas' caches. */
    groupEvents: `${ns}.evt.groups`,
    /** Auth announces every session it ends, so edges drop it from their cache of active ones. */
    sessionEvents: `${ns}.evt.sessions`,
    /** Every edge's count of the sends it accepted per user, each second, for the send rate across edges. */
    sendUsage: `${ns}.evt.send-usage`,
  } as const;
}

export type Names = ReturnType<typeof names>;
