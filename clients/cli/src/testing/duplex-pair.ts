import { Duplex } from "node:stream";

/** Two connected in-memory streams: what one writes the other reads (a socket without a network). */
export function duplexPair(): [Duplex, Duplex] {
  const sides: Duplex[] = [];
  const make = (other: () => Duplex): Duplex =>
    new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, callback) {
        const o = other();
        if (!o.destroyed) o.push(chunk);
        callback();
      },
      final(callback) {
        const o = other();
        if (!o.destroyed) o.push(null);
        callback();
      },
      destroy(err, callback) {
        const o = other();
        if (!o.destroyed) o.destroy();
        callback(err);
      },
    });
  sides.push(make(() => sides[1]!), make(() => sides[0]!));
  return [sides[0]!, sides[1]!];
}
