/**
 * @natter/kit: what every natter service needs to run — configuration, logging, NATS and
 * Postgres connections, migrations, request/reply, health endpoints and shutdown.
 */
export { COMMON_SECRETS, CommonEnv, ConfigError, loadConfig, redactConfig, type LogLevel } from "./config.ts";
export { createLogger, type Logger } from "./logger.ts";
export { connectNats, natsCredentials, natsInboxPrefix, type NatsConnection, type NatsCredentials, type Subscription } from "./nats.ts";
export { followAnnouncements, type Announcements } from "./announcements.ts";
export { ExpiringCache } from "./expiring-cache.ts";
export { createPool } from "./pg.ts";
export { migrate } from "./migrate.ts";
export { openServiceConnections, type ServiceConnections } from "./service-connections.ts";
export { Closers } from "./closers.ts";
export { call, serve, serveApi, serviceCall, type ApiServer, type Handlers, type ServiceCall } from "./rpc.ts";
export { startHealth } from "./health.ts";
export { Counter, createRegistry, Gauge, Histogram, type Registry } from "./metrics.ts";
export { runService, type ServiceDefinition, type ServiceEnv } from "./run-service.ts";
export { systemClock, type Clock, type RunningService, type ServiceDeps } from "./service.ts";
export { RetryBudget } from "./retry-budget.ts";
export { copyMsgId, ensureInboxStream, INBOX_DEFAULTS, inboxRefusal, InboxWriter, messageIdOf, publishWithRetry, type InboxCaps, type InboxRefusal } from "./inbox.ts";
export { DeviceFeeds, nextStored, type DeviceFeed, type FeedDelivery, type FeedHandlers, type FeedTimings } from "./device-feed.ts";
export { ensureStream, ensureWorkQueue } from "./work-queue.ts";
export { StorePublisher, type StorePublish } from "./store-publisher.ts";
