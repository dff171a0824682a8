/**
 * Who may do what on natter's NATS: each service connects as a user of its own, allowed
 * only the subjects its code uses, so that a broken-into edge cannot listen to auth's
 * verbs, answer them, or announce what only auth announces. The one source of the
 * `authorization` block compose and Kubernetes load (deploy/nats/users.conf and
 * deploy/k8s/base/users.conf, kept equal to `renderUsersConf()` by
 * test/deploy/nats-permissions.test.ts). After changing a subject a service uses:
 *
 *   node --import tsx deploy/nats/permissions.ts       (writes both files)
 *
 * Every user may answer the requests it receives (`allow_responses`) and listen for its
 * own replies under `natsInboxPrefix(user)`, nothing wider. Passwords are not here: the
 * server reads each from its environment (`passwordVariable(user)`).
 *
 * What subjects cannot say: JetStream's API is granted per subject, that is per action
 * and per stream or consumer. The edge may create and update the INBOX stream (it owns
 * its caps), read any message of it, make, read and delete any consumer on it (a catch-up
 * reads through a short-lived consumer), purge it (a device's acks are purges of its
 * user's subject, and nats-server cannot tell a filtered purge from a whole one by
 * subject) and publish into any user's inbox. It cannot delete INBOX, touch the GROUPS
 * stream's consumers, or list streams. Those are the edge's job for every user, so a
 * broken-into edge can still drop or forge messages: end-to-end encryption, not NATS,
 * protects their content.
 */
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { natsInboxPrefix } from "@natter/kit";
import { AuthApi, GroupApi, names, PresenceApi, type AuthVerb, type GroupVerb, type PresenceVerb } from "@natter/protocol";

/** natter's NATS users, one a service. */
export const NATS_USERS = ["auth", "group", "presence", "edge"] as const;
export type NatsUser = (typeof NATS_USERS)[number];

/** What one user may publish and subscribe to; every user may also answer requests it receives. */
export interface Permissions {
  readonly publish: readonly string[];
  readonly subscribe: readonly string[];
}

/** The namespace compose and Kubernetes run (NATTER_NAMESPACE). */
export const DEPLOYED_NAMESPACE = "natter";

/** The environment variable the NATS server reads `user`'s password from; the service's NATS_PASSWORD holds the same. */
export function passwordVariable(user: NatsUser): string {
  return `NATS_${user.toUpperCase()}_PASSWORD`;
}

/**
 * What a NATS password must look like: nats-server parses a variable's value as it would
 * a value in the file, so `1k` becomes the number 1000 and `-x` does not parse. A letter
 * first, then letters and digits, is read as the string it is.
 */
export const NATS_PASSWORD_PATTERN = /^[A-Za-z][A-Za-z0-9]{15,}$/;

/** A fresh password of that shape: `n` and 192 random bits in hex. */
export function newNatsPassword(): string {
  return `n${randomBytes(24).toString("hex")}`;
}

const api = (subject: string) => `$JS.API.${subject}`;
/** Reading, making and updating one stream's configuration (not deleting or purging it). */
const manageStream = (stream: string) => [api(`STREAM.INFO.${stream}`), api(`STREAM.CREATE.${stream}`), api(`STREAM.UPDATE.${stream}`)];
/** Making (or updating) a named consumer: nats-server 2.9's API puts its name and filter in the subject. */
const createConsumer = (stream: string, consumer: string) => [api(`CONSUMER.CREATE.${stream}.${consumer}`), api(`CONSUMER.CREATE.${stream}.${consumer}.>`)];
/** Acks, naks and terms of what a consumer delivered. */
const acks = (stream: string, consumer: string) => `$JS.ACK.${stream}.${consumer}.>`;
/**
 * Moving an earlier natter's work-queue INBOX into the new stream, which the edge and the
 * group service both do at start (kit's `ensureInboxStream`): finding it, taking its
 * subjects and device consumers away, reading it through one shared consumer, deleting it.
 */
const moveLegacyInbox = (stream: string) => [
  ...manageStream(stream),
  api(`STREAM.DELETE.${stream}`),
  api(`CONSUMER.LIST.${stream}`),
  api(`CONSUMER.DELETE.${stream}.*`),
  ...createConsumer(stream, "move_to_v2"),
  api(`CONSUMER.INFO.${stream}.move_to_v2`),
  api(`CONSUMER.MSG.NEXT.${stream}.move_to_v2`),
  acks(stream, "move_to_v2"),
];

/** Each user's permissions in `namespace`, read off the services' code (docs/SECURITY.md, "NATS permissions"). */
export function permissions(namespace: string): Record<NatsUser, Permissions> {
  const n = names(namespace);
  const inbox = (user: NatsUser) => `${natsInboxPrefix(user)}.>`;
  const verbs = <V extends string>(api: Record<V, unknown>, subject: (verb: V) => string) => (Object.keys(api) as V[]).map(subject);
  const objectStream = `OBJ_${n.attachments}`;
  return {
    auth: {
      publish: [n.sessionEvents, n.blockEvents],
      subscribe: verbs<AuthVerb>(AuthApi, n.auth),
    },
    group: {
      publish: [
        n.auth("user"),
        n.groupEvents,
        n.inboxWildcard,
        api("INFO"),
        ...manageStream(n.inboxStream),
        ...moveLegacyInbox(n.legacyInboxStream),
        ...manageStream(n.groupStream),
        ...createConsumer(n.groupStream, "fanout"),
        api(`CONSUMER.INFO.${n.groupStream}.fanout`),
        api(`CONSUMER.MSG.NEXT.${n.groupStream}.fanout`),
        acks(n.groupStream, "fanout"),
      ],
      subscribe: [...verbs<GroupVerb>(GroupApi, n.groupSvc), n.groupEvents, inbox("group")],
    },
    presence: {
      publish: [n.auth("blocks"), n.presenceSync],
      subscribe: [...verbs<PresenceVerb>(PresenceApi, n.presence), n.presenceEvents, n.edgeHeartbeat, inbox("presence")],
    },
    edge: {
      publish: [
        ...verbs<AuthVerb>(AuthApi, n.auth),
        ...verbs<GroupVerb>(GroupApi, n.groupSvc),
        ...verbs<PresenceVerb>(PresenceApi, n.presence),
        n.inboxWildcard,
        n.groupWildcard,
        n.fileUsageWildcard,
        n.presenceEvents,
        n.edgeHeartbeat,
        n.sendUsage,
        n.session("*"),
        // A request there asks whether the account has a receiving connection (its feed answers).
        n.liveWildcard,
        api("INFO"),
        // INBOX: its caps; a device's catch-up (a look for the next message of its user, a
        // short-lived consumer to read them); its acks, purges of its user's subject.
        ...manageStream(n.inboxStream),
        ...moveLegacyInbox(n.legacyInboxStream),
        api(`STREAM.MSG.GET.${n.inboxStream}`),
        api(`CONSUMER.CREATE.${n.inboxStream}.*.>`),
        api(`CONSUMER.INFO.${n.inboxStream}.*`),
        api(`CONSUMER.DELETE.${n.inboxStream}.*`),
        api(`CONSUMER.MSG.NEXT.${n.inboxStream}.*`),
        api(`STREAM.PURGE.${n.inboxStream}`),
        // The per-user file quota: a unit published per 256 KiB, deleted when an upload fails.
        ...manageStream(n.fileUsageStream),
        api(`STREAM.MSG.DELETE.${n.fileUsageStream}`),
        // The object store of files: chunks and metadata in, a message read and an ordered
        // consumer (flow-controlled) out, and the library's clean-up of a failed upload.
        `$O.${n.attachments}.>`,
        api(`STREAM.INFO.${objectStream}`),
        api(`STREAM.CREATE.${objectStream}`),
        api(`STREAM.MSG.GET.${objectStream}`),
        api(`STREAM.PURGE.${objectStream}`),
        api(`CONSUMER.CREATE.${objectStream}`),
        api(`CONSUMER.CREATE.${objectStream}.>`),
        api(`CONSUMER.INFO.${objectStream}.*`),
        api(`CONSUMER.DELETE.${objectStream}.*`),
        `$JS.FC.${objectStream}.>`,
      ],
      subscribe: [
        n.sessionEvents,
        n.blockEvents,
        n.edgeHeartbeat,
        n.presenceSync,
        n.sendUsage,
        n.session("*"),
        // What INBOX stores, republished live; a new leader of it means a look for what the old one did not republish.
        n.liveWildcard,
        `$JS.EVENT.ADVISORY.STREAM.LEADER_ELECTED.${n.inboxStream}`,
        inbox("edge"),
      ],
    },
  };
}

/** The `authorization` block for `namespace`, as nats-server reads it (2.9 and later). */
export function renderUsersConf(namespace = DEPLOYED_NAMESPACE): string {
  const list = (subjects: readonly string[]) => subjects.map((s) => `          ${JSON.stringify(s)}`).join("\n");
  const users = NATS_USERS.map((user) => {
    const { publish, subscribe } = permissions(namespace)[user];
    return [
      "    {",
      `      user: ${user}`,
      `      password: $${passwordVariable(user)}`,
      "      permissions: {",
      "        publish: { allow: [",
      list(publish),
      "        ] }",
      "        subscribe: { allow: [",
      list(subscribe),
      "        ] }",
      "        allow_responses: true",
      "      }",
      "    }",
    ].join("\n");
  });
  return [
    "# Made by deploy/nats/permissions.ts: change that file, then run",
    "#   node --import tsx deploy/nats/permissions.ts",
    `# Each natter service's own NATS user, for NATTER_NAMESPACE=${namespace}. The server reads`,
    "# the passwords from its environment (an unset one stops it starting).",
    "authorization {",
    "  users: [",
    users.join("\n"),
    "  ]",
    "}",
    "",
  ].join("\n");
}

/** Where the rendered block is committed: compose's and the Kubernetes base's (kustomize reads only below its own folder). */
export const USERS_CONF_FILES = ["deploy/nats/users.conf", "deploy/k8s/base/users.conf"] as const;

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = fileURLToPath(new URL("../../", import.meta.url));
  for (const file of USERS_CONF_FILES) writeFileSync(`${root}${file}`, renderUsersConf());
}
