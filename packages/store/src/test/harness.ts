import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { createPresignedPost } from "@sluice/sigv4";
import type { StoreOptions } from "../options.ts";
import { type RunningStore, startStore } from "../server.ts";

export const CREDENTIALS = {
  accessKeyId: "SLUICEFEATUREKEY",
  secretAccessKey: "feature/test/secret/0123456789abcdef",
};

export interface TestStore {
  store: RunningStore;
  endpoint: string;
  dataDir: string;
  s3: S3Client;
  /** Stops the store (keeping its data directory) and starts it again on the same port. */
  restart(options?: Partial<StoreOptions>): Promise<void>;
  close(): Promise<void>;
}

/** An embedded store on 127.0.0.1:0 in a fresh data directory, with an SDK client and one bucket per name given. */
export async function openTestStore(
  options: Partial<StoreOptions> & { buckets?: string[] } = {},
): Promise<TestStore> {
  const { buckets = [], ...storeOptions } = options;
  const dataDir = await mkdtemp(join(tmpdir(), "sluice-feature-"));
  const start = (extra: Partial<StoreOptions> = {}, port = 0) =>
    startStore({ dataDir, credentials: [CREDENTIALS], port, ...storeOptions, ...extra });
  let store = await start();
  const s3 = new S3Client({
    region: "us-east-1",
    endpoint: store.endpoint,
    forcePathStyle: true,
    credentials: CREDENTIALS,
    maxAttempts: 1,
  });
  for (const bucket of buckets) await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const harness: TestStore = {
    store,
    endpoint: store.endpoint,
    dataDir,
    s3,
    async restart(extra) {
      await store.close();
      store = await start(extra, store.port);
      harness.store = store;
    },
    async close() {
      s3.destroy();
      await store.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return harness;
}

/** A browser-style POST upload of `body` to `key`, with a freshly signed policy. */
export function postUpload(
  t: TestStore,
  options: { bucket: string; key: string; body: string },
): Promise<Response> {
  const post = createPresignedPost({
    url: `${t.endpoint}/${options.bucket}`,
    key: options.key,
    credentials: CREDENTIALS,
    region: "us-east-1",
    expiresIn: 60,
  });
  const form = new FormData();
  for (const [name, value] of Object.entries(post.fields)) form.append(name, value);
  form.append("file", new Blob([options.body]), "file.txt");
  return fetch(post.url, { method: "POST", body: form });
}
