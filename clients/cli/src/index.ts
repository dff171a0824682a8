export { createProgram, runCli, type CliDeps } from "./program.ts";
export { EXIT, exitCodeFor, CliError, CLIENT_ERRORS, type CliErrorCode, type ExitCode } from "./errors.ts";
export { HomeStore, type GroupFile } from "./home-store.ts";
