import { SingleBar } from "cli-progress";
import { formatSize } from "./output.ts";

/** One transfer's progress. */
export interface Progress {
  update(done: number): void;
  stop(): void;
}

/** Starts a progress display for a transfer of `total` bytes. */
export type ProgressFactory = (label: string, total: number) => Progress;

const SILENT: Progress = { update: () => undefined, stop: () => undefined };

/** No display at all (scripts, --json, stderr not a terminal). */
export const noProgress: ProgressFactory = () => SILENT;

/** A bar on `stream` (stderr, a terminal) for each upload or download. */
export function progressBars(stream: NodeJS.WritableStream): ProgressFactory {
  return (label, total) => {
    const bar = new SingleBar({
      stream,
      format: `${label} [{bar}] {percentage}% {done} of {size}`,
      hideCursor: true,
      clearOnComplete: true,
      barsize: 30,
      fps: 10,
    });
    bar.start(Math.max(total, 1), 0, { done: formatSize(0), size: formatSize(total) });
    return {
      update: (done) => bar.update(done, { done: formatSize(done) }),
      stop: () => bar.stop(),
    };
  };
}
