/** Process exit codes (sysexits' EX_UNAVAILABLE for "no service"). */
export const EXIT = { OK: 0, REFUSED: 1, AUTH: 2, NO_SERVICE: 69 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
