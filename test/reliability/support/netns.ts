/**
 * Test hosts on this machine: network namespaces joined by veth links to a bridge that
 * lives in a namespace of its own, on a private /24 used only by them. The host gets one
 * veth into that bridge (nothing touches its real interfaces) so the suite can reach the
 * hosts. A host is cut off by taking its link on the bridge down, and healed by bringing
 * it up again. Every name starts with PREFIX, so leftovers of a crashed run are swept.
 */
import { execFileSync } from "node:child_process";

const PREFIX = "natrel-";
const BRIDGE_NS = `${PREFIX}br`;
const HOST_LINK = `${PREFIX}h`;
const SUBNET = "10.213.47";
/** The host's own address on the test network. */
export const HOST_ADDRESS = `${SUBNET}.1`;

function ip(...args: string[]): string {
  return execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function quietly(fn: () => unknown): void {
  try {
    fn();
  } catch {
    // Already gone.
  }
}

/** Removes every namespace and host link a run of this suite left behind. */
export function sweep(): void {
  let names: string[] = [];
  quietly(() => (names = ip("netns", "list").split("\n").map((l) => l.split(" ")[0]!).filter((n) => n.startsWith(PREFIX))));
  for (const name of names) quietly(() => ip("netns", "del", name));
  quietly(() => ip("link", "del", HOST_LINK));
}

/** Why namespaces cannot be made here (not root, no CAP_NET_ADMIN, no `ip`), or undefined when they can. */
export function unavailable(): string | undefined {
  const probe = `${PREFIX}probe`;
  try {
    ip("netns", "add", probe);
    ip("netns", "del", probe);
    return undefined;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    return `network namespaces cannot be made here: ${stderr || (error as Error).message}`;
  }
}

/** One test host: a namespace with one address on the bridge. */
export interface TestHost { name: string; netns: string; address: string; link: string }

export class TestNetwork {
  readonly hosts: TestHost[] = [];

  /** Creates the bridge namespace and the host's link into it. */
  static create(): TestNetwork {
    sweep();
    const net = new TestNetwork();
    try {
      ip("netns", "add", BRIDGE_NS);
      ip("-n", BRIDGE_NS, "link", "set", "lo", "up");
      ip("-n", BRIDGE_NS, "link", "add", "br0", "type", "bridge");
      ip("-n", BRIDGE_NS, "link", "set", "br0", "up");
      ip("link", "add", HOST_LINK, "type", "veth", "peer", "name", "to-host", "netns", BRIDGE_NS);
      ip("-n", BRIDGE_NS, "link", "set", "to-host", "master", "br0", "up");
      ip("addr", "add", `${HOST_ADDRESS}/24`, "dev", HOST_LINK);
      ip("link", "set", HOST_LINK, "up");
    } catch (error) {
      net.destroy();
      throw error;
    }
    return net;
  }

  /** A new host `name` at .`octet` of the test network. */
  addHost(name: string, octet: number): TestHost {
    const host: TestHost = { name, netns: `${PREFIX}${name}`, address: `${SUBNET}.${octet}`, link: `to-${name}` };
    this.hosts.push(host);
    ip("netns", "add", host.netns);
    ip("-n", host.netns, "link", "set", "lo", "up");
    ip("-n", BRIDGE_NS, "link", "add", host.link, "type", "veth", "peer", "name", "eth0", "netns", host.netns);
    ip("-n", host.netns, "addr", "add", `${host.address}/24`, "dev", "eth0");
    ip("-n", host.netns, "link", "set", "eth0", "up");
    ip("-n", BRIDGE_NS, "link", "set", host.link, "master", "br0", "up");
    return host;
  }

  /** Cuts `host` off from every other host and from the suite. */
  cut(host: TestHost): void {
    ip("-n", BRIDGE_NS, "link", "set", host.link, "down");
  }

  heal(host: TestHost): void {
    ip("-n", BRIDGE_NS, "link", "set", host.link, "up");
  }

  /** Deletes every namespace and link of this network (their processes must be stopped first). */
  destroy(): void {
    for (const host of this.hosts) quietly(() => ip("netns", "del", host.netns));
    quietly(() => ip("netns", "del", BRIDGE_NS));
    quietly(() => ip("link", "del", HOST_LINK));
    this.hosts.length = 0;
  }
}
