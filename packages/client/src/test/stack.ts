/**
 * A real embedded store and a real broker on 127.0.0.1 port 0, in-process,
 * for SDK tests. Storage may be reached through something else (a faulty
 * proxy) by giving `publicEndpoint`.
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mintToken, parseConfig, startBroker } from "@sluice/broker";
import { startStore } from "@sluice/store";

export interface Stack {
  url: string;
  storeEndpoint: string;
  /** alice's token (tenant acme). */
  token: string;
  /** A token for another user of the same tenant. */
  tokenFor(user: string): Promise<string>;
  dir: string;
  /** The store's own keys and bucket, for tests that tamper with storage behind the broker's back. */
  storage: { accessKeyId: string; secretAccessKey: string; bucket: string };
  close(): Promise<void>;
}

export async function startStack(
  options: {
    profiles?: Record<string, unknown>;
    publicEndpoint?: (storeEndpoint: string) => Promise<string>;
  } = {},
): Promise<Stack> {
  const dir = await mkdtemp(join(tmpdir(), "sluice-client-"));
  const credentials = { accessKeyId: "AKCLIENTTEST", secretAccessKey: randomBytes(20).toString("hex") };
  const store = await startStore({ dataDir: join(dir, "store"), port: 0, credentials: [credentials] });
  const publicEndpoint = options.publicEndpoint ? await options.publicEndpoint(store.endpoint) : undefined;
  const config = parseConfig({
    dataDir: join(dir, "broker"),
    server: { port: 0 },
    storage: { endpoint: store.endpoint, ...(publicEndpoint ? { publicEndpoint } : {}), ...credentials },
    auth: { jwt: { secret: randomBytes(24).toString("hex") } },
    log: { level: "silent" },
    ...(options.profiles ? { profiles: options.profiles } : {}),
  });
  const broker = await startBroker(config);
  const token = await mintToken(config, { tenant: "acme", user: "alice" });
  return {
    url: broker.url,
    storeEndpoint: store.endpoint,
    token,
    tokenFor: (user) => mintToken(config, { tenant: "acme", user }),
    dir,
    storage: { ...credentials, bucket: config.storage.bucket },
    async close() {
      await broker.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A file of `size` random bytes in `dir`, and its SHA-256. */
export async function randomFile(
  dir: string,
  name: string,
  size: number,
): Promise<{ path: string; sha256: string }> {
  const bytes = randomBytes(size);
  const path = join(dir, name);
  await writeFile(path, bytes);
  return { path, sha256: createHash("sha256").update(bytes).digest("hex") };
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk);
  return hash.digest("hex");
}
