/** Things worth telling the user that are not failures. */
export type Notice =
  | { kind: "identity-changed"; user: string }
  | { kind: "undecryptable"; user: string; id: string; group?: string }
  | { kind: "unsupported"; user: string; id: string }
  /** A received file that will never arrive (expired, tampered with, no room). */
  | { kind: "file-failed"; user: string; id: string; group?: string; code: string; reason: string };
