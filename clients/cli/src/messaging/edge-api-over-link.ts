import type { Link } from "../transport/link.ts";
import type { EdgeApi } from "./edge-api.ts";

/** The messenger's edge requests as frames on a link (given lazily: a receiver needs its messenger before the link starts). */
export function edgeApiOverLink(link: () => Link): EdgeApi {
  return {
    claim: (user) => link().call({ t: "claim", user }, "keys"),
    lookup: (user) => link().call({ t: "user", user }, "user"),
    send: async ({ id, to, body }) => {
      await link().call({ t: "send", msg: { id, to, body: new Uint8Array(body) } }, "accepted");
    },
    prekeys: async (add, replace, addKem) => {
      const answer = await link().call({ t: "prekeys", add, ...(addKem?.length ? { addKem } : {}), ...(replace ? { replace } : {}) }, "prekeys");
      // An answer without the KEM counts comes from a server that keeps none.
      return { count: answer.count, kemCount: answer.kemCount ?? 0, kemLastResort: answer.kemLastResort ?? false };
    },
    putBackup: async (put) => {
      await link().call({ t: "backup", put }, "backup");
    },
    signedPrekey: async (key, kemLastResort) => {
      await link().call({ t: "signedPrekey", key, ...(kemLastResort ? { kemLastResort } : {}) }, "ok");
    },
    members: async (name) => {
      const { group, members } = await link().call({ t: "group", op: "members", name }, "members");
      return { group, members };
    },
    chain: async (name, after) => {
      const { group, head, entries, more } = await link().call({ t: "group", op: "chain", name, after }, "chain");
      return { group, head, entries, more };
    },
    groupChange: async (req) => (await link().call({ t: "group", ...req }, "group")).group,
    gsend: async ({ id, group, body }) => {
      await link().call({ t: "gsend", msg: { id, group, body: new Uint8Array(body) } }, "accepted");
    },
  };
}
