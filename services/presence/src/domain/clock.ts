/** Where the domain gets the time (milliseconds since the epoch); tests pass a fake. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
