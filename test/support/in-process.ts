/**
 * The whole server side in this process — auth, group, presence and edges — on a fresh
 * database and namespace. For tests that speak frames to edges and need no CLI.
 */
import { createHash, generateKeyPairSync } from "node:crypto";
import { Closers, createLogger, loadConfig } from "@natter/kit";
import { testServices, type TestServices } from "@natter/kit/testing";
import { loadAuthConfig, startAuth } from "@natter/auth";
import { GroupEnv, startGroup } from "@natter/group";
import { loadPresenceConfig, startPresence } from "@natter/presence";
import { EdgeEnv, startEdge, type RunningEdge } from "@natter/edge";
import { generateJwtKeys } from "../../scripts/stack.ts";
import { RawClient } from "./raw-client.ts";

export interface Servers {
  services: TestServices;
  edges: RunningEdge[];
  address(i?: number): string;
  stop(): Promise<void>;
}

export async function startServers(options: { edges?: number; env?: Record<string, string> } = {}): Promise<Servers> {
  const services = await testServices();
  const logger = createLogger("test", "silent");
  const common = { NATS_URL: services.natsUrl, DATABASE_URL: services.databaseUrl, NATTER_NAMESPACE: services.namespace };
  const closers = new Closers(logger);
  try {
    const auth = await startAuth(loadAuthConfig({
      ...common, NODE_ENV: "test", AUTH_BCRYPT_COST: "4", AUTH_JWT_KEYS: await generateJwtKeys(), AUTH_LOCK_SECONDS: "60", ...options.env,
    }), { logger });
    closers.push(() => auth.close());
    const group = await startGroup(loadConfig(GroupEnv, common), { logger });
    closers.push(() => group.close());
    const presence = await startPresence(loadPresenceConfig({ ...common, PRESENCE_WARMUP_MS: "100" }), { logger });
    closers.push(() => presence.close());
    const edges: RunningEdge[] = [];
    for (let i = 0; i < (options.edges ?? 1); i++) {
      const edge = await startEdge(loadConfig(EdgeEnv, { ...common, EDGE_PORT: "0", EDGE_DRAIN_MS: "100", ...options.env }), { logger });
      edges.push(edge);
      closers.push(() => edge.close());
    }
    return {
      services,
      edges,
      address: (i = 0) => `127.0.0.1:${edges[i]!.port}`,
      async stop() {
        await closers.close();
        await services.cleanup();
      },
    };
  } catch (error) {
    await closers.close();
    await services.cleanup();
    throw error;
  }
}

const bundle = {
  v: 1, identityKey: "ik", identityDhKey: "dh", identityDhSignature: "sig",
  signedPrekey: { id: 1, publicKey: "spk", signature: "sig" },
  oneTimePrekeys: [{ id: 1, publicKey: "otk1", signature: "sig" }, { id: 2, publicKey: "otk2", signature: "sig" }],
};

/** The salt raw test clients register with (the CLI makes a random one). */
export const TEST_SALT = "dGVzdC1zYWx0LXRlc3Qtcw";

/**
 * What a raw test client sends as the login secret for `password`: any 32 bytes will do
 * for the servers, which only bcrypt it (the CLI derives them with Argon2id and HKDF).
 */
export function loginSecretOf(password: string): string {
  return createHash("sha256").update(password, "utf8").digest("base64url");
}

/**
 * Registers a fresh account (dummy public keys, the servers never check ciphertext, but a
 * real identity key: its `identity.seed` signs the account's group changes).
 */
export async function account(address: string, name = `u${Math.random().toString(36).slice(2, 10)}`, password = "password123") {
  const client = await RawClient.connect(address);
  const secret = loginSecretOf(password);
  const keys = generateKeyPairSync("ed25519");
  const identity = { identityKey: keys.publicKey.export({ format: "jwk" }).x!, seed: Buffer.from(keys.privateKey.export({ format: "jwk" }).d!, "base64url") };
  const session = await client.ok<"session">({
    t: "register", username: name, salt: TEST_SALT, secret, bundle: { ...bundle, identityKey: identity.identityKey }, backup: "backup-blob-0000",
  });
  return { client, session, name, password, secret, identity };
}
