// Starts a real embedded store and a real broker on 127.0.0.1 port 0 for a
// test, with a temp data directory, and talks to them over HTTP.
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { S3Target } from "@sluice/core/testing";
import { type StoreOptions, startStore } from "@sluice/store";
import pino from "pino";
import type { BrokerOptions } from "../app.ts";
import { signToken } from "../auth/jwt.ts";
import { parseConfig } from "../config/load.ts";
import type { BrokerConfig } from "../config/schema.ts";
import type { BrokerContext } from "../context.ts";
import { startBroker } from "../server.ts";

export const TEST_SECRET = "test-secret-that-is-at-least-32-characters-long";

export interface Harness {
  url: string;
  storeEndpoint: string;
  config: BrokerConfig;
  /** The running broker's services (a new one after `restart`). */
  context(): BrokerContext;
  /** A bearer token for tenant/user. */
  token(user?: string, tenant?: string): Promise<string>;
  /** fetch against the broker with JSON and a bearer token for `as` (default alice@acme). */
  api(
    path: string,
    init?: RequestInit & { json?: unknown; as?: string | null; tenant?: string },
  ): Promise<Response>;
  /** Restart the broker on the same data and port (durability tests). */
  restart(broker?: BrokerOptions): Promise<void>;
  close(): Promise<void>;
}

export async function startHarness(
  options: {
    config?: Record<string, unknown>;
    databaseUrl?: string;
    broker?: BrokerOptions;
    /** Extra options of the embedded store (e.g. notification targets). */
    store?: Partial<StoreOptions>;
    /** An external S3 endpoint (RGW tier) instead of the embedded store; a fresh bucket is used. */
    storage?: S3Target & { capabilities?: { conditionalWrites?: boolean; checksums?: boolean } };
  } = {},
): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), "sluice-broker-"));
  let storage: Record<string, unknown>;
  let closeStore = async () => {};
  if (options.storage) {
    const { endpoint, region, accessKeyId, secretAccessKey, capabilities } = options.storage;
    const bucket = `sluice-test-${randomBytes(6).toString("hex")}`;
    storage = { endpoint, region, accessKeyId, secretAccessKey, bucket, capabilities };
  } else {
    const credentials = { accessKeyId: "AKTEST", secretAccessKey: randomBytes(20).toString("hex") };
    const store = await startStore({
      dataDir: join(dir, "store"),
      port: 0,
      credentials: [credentials],
      ...options.store,
    });
    storage = { endpoint: store.endpoint, ...credentials };
    closeStore = () => store.close();
  }
  const config = parseConfig({
    dataDir: join(dir, "broker"),
    database: { url: options.databaseUrl },
    auth: { jwt: { secret: TEST_SECRET } },
    log: { level: "silent" },
    ...options.config,
    // Storage settings of the test's config (capabilities) go with the store the harness started.
    storage: { ...storage, ...(options.config?.storage as Record<string, unknown> | undefined) },
    // Port 0 even when a test sets other server options: a fixed port collides with `npm start`.
    server: { port: 0, ...(options.config?.server as Record<string, unknown> | undefined) },
  });
  const logger = pino({ level: "silent" });
  // A broker that cannot start must not leave the store running (the test file would never exit).
  let broker = await startBroker(config, { logger, ...options.broker }).catch(async (error) => {
    await closeStore();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  });
  const harness: Harness = {
    url: broker.url,
    storeEndpoint: String(storage.endpoint),
    config,
    context: () => broker.context,
    token: (user = "alice", tenant = "acme") =>
      signToken({ secret: TEST_SECRET, tenant, user, jwt: config.auth.jwt }),
    async api(path, init = {}) {
      const { json, as = "alice", tenant, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (as !== null) headers.set("authorization", `Bearer ${await harness.token(as, tenant)}`);
      if (json !== undefined) headers.set("content-type", "application/json");
      return fetch(`${harness.url}${path}`, {
        redirect: "manual",
        ...rest,
        headers,
        body: json !== undefined ? JSON.stringify(json) : rest.body,
      });
    },
    async restart(brokerOptions = options.broker) {
      await broker.close();
      const port = Number(new URL(harness.url).port);
      broker = await startBroker(
        { ...config, server: { ...config.server, port } },
        { logger, ...brokerOptions },
      );
    },
    async close() {
      await broker.close();
      await closeStore();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return harness;
}

export function sha256Hex(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

export interface GrantJson {
  upload: {
    id: string;
    state: string;
    key: string;
    method: string;
    name: string;
    expiresAt: string;
    partSize?: number;
    partCount?: number;
  };
  put: { url: string; headers: Record<string, string> };
  post: { url: string; fields: Record<string, string> };
  multipart: { partSize: number; partCount: number };
}

/** Where a grant for the file `key` writes: its quarantine (uploads/quarantine.ts). */
export function incomingKey(key: string): string {
  return key.replace(/\/([^/]+)$/, "/incoming/$1");
}

/** Requests a grant and fails loudly with the broker's error body. */
export async function grant(h: Harness, body: Record<string, unknown>, as = "alice"): Promise<GrantJson> {
  const res = await h.api("/v1/uploads", { method: "POST", json: body, as });
  const json = (await res.json()) as GrantJson;
  if (res.status !== 201) throw new Error(`grant failed ${res.status}: ${JSON.stringify(json)}`);
  return json;
}

/** Sends bytes with a PUT grant exactly as a client would. */
export async function putBytes(
  put: { url: string; headers: Record<string, string> },
  data: Uint8Array,
): Promise<Response> {
  const headers = { ...put.headers };
  delete headers["content-length"];
  return fetch(put.url, { method: "PUT", headers, body: data as Uint8Array<ArrayBuffer> });
}

export interface PartUrl {
  partNumber: number;
  url: string;
  headers: Record<string, string>;
}

/** Presigns parts of a multipart upload, failing loudly with the broker's error body. */
export async function signParts(h: Harness, id: string, partNumbers: number[]): Promise<PartUrl[]> {
  const res = await h.api(`/v1/uploads/${id}/parts`, { method: "POST", json: { partNumbers } });
  const body = (await res.json()) as { parts: PartUrl[] };
  if (res.status !== 200) throw new Error(`parts failed ${res.status}: ${JSON.stringify(body)}`);
  return body.parts;
}
