// Child process for store.bench.ts: `serve.ts store|plain <dataDir>` prints its endpoint, so the
// benchmark can read this process's own peak RSS from /proc.
import { createWriteStream } from "node:fs";
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
  // The baseline: what a plain Node server does to write a request body to a file on the same disk.
  let n = 0;
  const server = createServer((req, res) => {
    pipeline(req, createWriteStream(join(dataDir, `plain-${n++}`))).then(
      () => res.end(),
      () => res.destroy(),
    );
  });
  server.listen(0, "127.0.0.1", () =>
    console.log(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
  );
}
