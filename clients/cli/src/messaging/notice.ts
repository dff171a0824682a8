/** Things worth telling the user that are not failures. */
export type Notice =
  | { kind: "identity-changed"; user: string }
  | { kind: "undecryptable"; user: string; id: string; group?: string }
  /** What the server claimed of a group's membership that its signed chain does not say (or a rollback or fork of it). */
  | { kind: "group-warning"; group: string; text: string }
  | { kind: "unsupported"; user: string; id: string }
  /** A message sent (or shown) that could not be kept in history. */
  | { kind: "not-kept"; id: string; reason: string }
  /** A received file that will never arrive (expired, tampered with, no room). */
  | { kind: "file-failed"; user: string; id: string; group?: string; code: string; reason: string };
