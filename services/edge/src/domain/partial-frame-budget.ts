/**
 * The bytes of frames still arriving, summed over every connection of an edge: a frame
 * may be as large as the frame limit, so without a bound many slow connections could
 * each make the edge hold nearly that much. Connections not logged in may fill only half
 * of it, so they cannot starve logged-in users' uploads.
 */
export class PartialFrameBudget {
  private held = 0;

  constructor(private readonly bytes: number) {}

  /** Holds `n` more bytes; false (and nothing held) when that would pass the budget. */
  hold(n: number, loggedIn: boolean): boolean {
    const ceiling = loggedIn ? this.bytes : this.bytes / 2;
    if (this.held + n > ceiling) return false;
    this.held += n;
    return true;
  }

  /** Lets go of `n` bytes held earlier. */
  free(n: number): void {
    this.held -= n;
  }

  /** Bytes held now. */
  get inUse(): number {
    return this.held;
  }
}
