// A request body of any size for the store benchmarks, streamed from one random 1 MiB block.
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";

const MiB = 1024 * 1024;
const block = randomBytes(MiB);

export function benchBody(size: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      const n = Math.min(MiB, size - sent);
      sent += n;
      this.push(n > 0 ? block.subarray(0, n) : null);
    },
  });
}
