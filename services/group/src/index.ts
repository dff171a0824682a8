/**
 * @natter/group: groups, members and roles, membership events, and the fan-out of group
 * messages into members' inboxes. `startGroup` runs the service in process (tests,
 * launchers); `src/main.ts` is its entry point.
 */
export { startGroup, type RunningGroup } from "./start-group.ts";
export { GroupEnv, type GroupConfig } from "./config.ts";
