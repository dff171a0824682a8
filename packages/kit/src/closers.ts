import type { Logger } from "./logger.ts";

/**
 * What a starting service must undo: steps added as it opens things, run in reverse
 * order on close (or when starting fails halfway). A failing step is logged and the
 * rest still run; closing twice runs nothing twice.
 */
export class Closers {
  private readonly steps: Array<() => unknown> = [];

  constructor(private readonly logger: Logger) {}

  push(step: () => unknown): void {
    this.steps.push(step);
  }

  async close(): Promise<void> {
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step();
      } catch (err) {
        this.logger.warn({ err }, "close step failed");
      }
    }
  }
}
