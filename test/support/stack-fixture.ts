/** A whole natter stack for one test file: its own database, namespace and edges. */
import { testServices, type TestServices } from "@natter/kit/testing";
import { generateJwtKeys, startStack, type Stack } from "../../scripts/stack.ts";

export interface Fixture {
  services: TestServices;
  stack: Stack;
  /** auth's signing keys (JSON array of private JWKs), so tests can forge what they need. */
  jwtKeys: string;
  /** Every log line the services wrote, for scanning. */
  logs: string[];
  stop(): Promise<void>;
}

export async function startFixture(options: { edges?: number; env?: Record<string, string> } = {}): Promise<Fixture> {
  const services = await testServices();
  const logs: string[] = [];
  const jwtKeys = await generateJwtKeys();
  const stack = await startStack({
    natsUrl: services.natsUrl,
    databaseUrl: services.databaseUrl,
    namespace: services.namespace,
    jwtKeys,
    edgePorts: Array.from({ length: options.edges ?? 2 }, () => 0),
    env: { NODE_ENV: "test", AUTH_BCRYPT_COST: "4", AUTH_ADDR_LIMIT: "10000", LOG_LEVEL: "debug", ...options.env },
    onLog: (_service, line) => logs.push(line),
  }).catch(async (error: unknown) => {
    await services.cleanup();
    throw error;
  });
  return {
    services,
    stack,
    jwtKeys,
    logs,
    async stop() {
      await stack.stop();
      await services.cleanup();
    },
  };
}
