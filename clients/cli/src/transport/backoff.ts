/** Reconnect delays: exponential from 0.2 s, capped at 5 s, with jitter (half to full). */
export function backoffDelay(attempt: number, random: () => number, baseMs = 200, capMs = 5_000): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 16));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
