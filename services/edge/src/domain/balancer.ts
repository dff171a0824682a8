/** What this edge knows of another edge's load. */
export interface PeerLoad {
  readonly address: string;
  readonly connections: number;
  readonly draining: boolean;
  readonly seenAt: number;
}

/**
 * A peer is "clearly" less loaded when it has at least this many fewer connections, and
 * at least REDIRECT_SHARE of ours fewer: near-equal edges keep their clients, so a
 * reconnect storm, when every edge's figure is seconds old, does not bounce clients
 * between edges that are as loaded as each other.
 */
export const REDIRECT_MARGIN = 2;
export const REDIRECT_SHARE = 0.1;

/**
 * Decides where a new client should go. Heartbeats arrive every 2 s, so between them the
 * balancer counts the clients it sent to each peer itself; a burst of clients arriving at
 * one address then spreads evenly instead of all following one stale figure.
 */
export class Balancer {
  private readonly peers = new Map<string, PeerLoad & { sent: number }>();

  constructor(
    /** This edge's name and the address clients reach it by. */
    private readonly self: () => { name: string; address: string },
    private readonly staleAfterMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** A heartbeat from an edge (our own is ignored). */
  heard(edge: string, load: Omit<PeerLoad, "seenAt">): void {
    // Behind one load balancer every edge has the same address: sending a client there
    // would only land it on a random edge again.
    const self = this.self();
    if (edge === self.name || load.address === self.address) return;
    this.peers.set(edge, { ...load, seenAt: this.now(), sent: 0 });
  }

  forget(edge: string): void {
    this.peers.delete(edge);
  }

  /**
   * The address to send a new client to, or undefined to keep it. A client coming `back`
   * after losing its connection stays where it landed: in a reconnect storm every edge's
   * figure of the others is stale, and moving returning clients would cost each a second
   * connection (clients pick an edge from their list at random, which spreads them). A
   * draining edge sends everyone it can elsewhere.
   */
  redirect(ownConnections: number, draining: boolean, back = false): string | undefined {
    if (back && !draining) return undefined;
    const now = this.now();
    let best: (PeerLoad & { sent: number }) | undefined;
    for (const [edge, peer] of this.peers) {
      if (now - peer.seenAt > this.staleAfterMs) {
        this.peers.delete(edge);
        continue;
      }
      if (peer.draining) continue;
      if (!best || peer.connections + peer.sent < best.connections + best.sent) best = peer;
    }
    if (!best) return undefined;
    const margin = Math.max(REDIRECT_MARGIN, ownConnections * REDIRECT_SHARE);
    if (!draining && ownConnections - (best.connections + best.sent) < margin) return undefined;
    best.sent += 1;
    return best.address;
  }
}
