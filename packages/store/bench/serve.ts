// Child process for store.bench.ts: `serve.ts store|plain <dataDir>` prints its endpoint, so the
// benchmark can read this process's own peak RSS and CPU time from /proc.
import { createWriteStream } from "node:fs";
import { open, rename } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { startStore } from "../src/index.ts";

const [mode, dataDir] = process.argv.slice(2) as [string, string];
if (mode === "store") {
  const store = await startStore({
    dataDir,
    credentials: [{ accessKeyId: "BENCH", secretAccessKey: "bench-secret" }],
  });
  console.log(store.endpoint);
} else {
  // The baseline: a plain Node server with the store's durability: the body to a temporary file,
  // fdatasync, rename into place, fsync of the directory, then the answer.
  let n = 0;
  const server = createServer((req, res) => {
    const name = `plain-${n++}`;
    const temp = join(dataDir, `${name}.tmp`);
    const durable = async () => {
      await pipeline(req, createWriteStream(temp));
      const file = await open(temp, "r+");
      await file.datasync();
      await file.close();
      await rename(temp, join(dataDir, name));
      const dir = await open(dataDir, "r");
      await dir.sync();
      await dir.close();
    };
    durable().then(
      () => res.end(),
      () => res.destroy(),
    );
  });
  server.listen(0, "127.0.0.1", () =>
    console.log(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
  );
}
