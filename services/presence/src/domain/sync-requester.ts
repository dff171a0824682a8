/** Asks edges to republish who is connected to them. */
export interface SyncRequester {
  /** Every edge when `edge` is undefined. */
  requestSync(edge?: string): void;
}
