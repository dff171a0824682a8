/**
 * Enough of Kubernetes' NetworkPolicy semantics to ask "may A reach B on port P?" of a
 * rendered set of policies: pod and namespace selectors (matchLabels, matchExpressions),
 * ports, and the rule that a pod selected by any policy of a direction is isolated in it
 * and then admits only what some policy allows. No ipBlock peers, no named ports.
 */
import type { K8sObject } from "./support.ts";

export interface Selector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: "In" | "NotIn" | "Exists" | "DoesNotExist"; values?: string[] }>;
}

interface Peer {
  podSelector?: Selector;
  namespaceSelector?: Selector;
  ipBlock?: unknown;
}

interface Rule {
  from?: Peer[];
  to?: Peer[];
  ports?: Array<{ port?: number | string; protocol?: string }>;
}

interface PolicySpec {
  podSelector: Selector;
  policyTypes?: Array<"Ingress" | "Egress">;
  ingress?: Rule[];
  egress?: Rule[];
}

/** A pod (labels, namespace and the namespace's labels), or "outside" the cluster. */
export type Endpoint =
  | { namespace: string; namespaceLabels?: Record<string, string>; labels: Record<string, string> }
  | "outside";

export function matches(selector: Selector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = e.key in labels;
    const value = labels[e.key];
    const ok =
      e.operator === "In" ? has && (e.values ?? []).includes(value!)
      : e.operator === "NotIn" ? !has || !(e.values ?? []).includes(value!)
      : e.operator === "Exists" ? has
      : !has;
    if (!ok) return false;
  }
  return true;
}

export class Policies {
  private readonly policies: Array<{ namespace: string; spec: PolicySpec }>;

  constructor(objects: readonly K8sObject[]) {
    this.policies = objects
      .filter((o) => o.kind === "NetworkPolicy")
      .map((o) => ({ namespace: o.metadata.namespace ?? "default", spec: o["spec"] as PolicySpec }));
  }

  /** Whether a TCP (or UDP) connection from `from` to `to` on `port` is allowed both ways. */
  allows(from: Endpoint, to: Endpoint, port: number, protocol = "TCP"): boolean {
    return this.side("Egress", from, to, port, protocol) && this.side("Ingress", to, from, port, protocol);
  }

  /** `subject`'s own policies of `direction` let it talk with `other`. */
  private side(direction: "Ingress" | "Egress", subject: Endpoint, other: Endpoint, port: number, protocol: string): boolean {
    if (subject === "outside") return true; // not ours to police
    const selecting = this.policies.filter(
      (p) => p.namespace === subject.namespace && matches(p.spec.podSelector, subject.labels) && typesOf(p.spec).includes(direction),
    );
    if (selecting.length === 0) return true;
    return selecting.some((p) => {
      const rules = (direction === "Ingress" ? p.spec.ingress : p.spec.egress) ?? [];
      return rules.some((rule) => {
        const peers = direction === "Ingress" ? rule.from : rule.to;
        const portOk = !rule.ports || rule.ports.some((rp) => (rp.protocol ?? "TCP") === protocol && (rp.port === undefined || rp.port === port));
        return portOk && (!peers || peers.length === 0 || peers.some((peer) => peerMatches(peer, p.namespace, other)));
      });
    });
  }
}

function typesOf(spec: PolicySpec): Array<"Ingress" | "Egress"> {
  if (spec.policyTypes) return spec.policyTypes;
  return spec.egress ? ["Ingress", "Egress"] : ["Ingress"];
}

function peerMatches(peer: Peer, policyNamespace: string, endpoint: Endpoint): boolean {
  if (endpoint === "outside") return false; // only an empty peer list (or an ipBlock, unused here) admits the outside
  if (peer.ipBlock) return false;
  if (peer.namespaceSelector) {
    if (!matches(peer.namespaceSelector, endpoint.namespaceLabels ?? { "kubernetes.io/metadata.name": endpoint.namespace })) return false;
  } else if (endpoint.namespace !== policyNamespace) {
    return false;
  }
  return matches(peer.podSelector, endpoint.labels);
}
