// Child process for the grant benchmarks: `serve.ts <JSON options>` starts one
// contender on 127.0.0.1:0 and sends its URL over IPC, so that the benchmark
// reads this process's CPU time from /proc while autocannon (in the parent)
// loads it. Contenders: the broker itself (default logging to /dev/null),
// Hono with the bare signer, and the same grant written plainly.
import { randomBytes, randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { objectUrl, presignUrl } from "@sluice/sigv4";
import Database from "better-sqlite3";
import { Hono } from "hono";
import { jwtVerify } from "jose";
import pino from "pino";
import { parseConfig } from "../src/config/load.ts";
import { startBroker } from "../src/server.ts";

export interface ServeOptions {
  mode: "broker" | "bare" | "plain";
  dataDir: string;
  storage: { endpoint: string; accessKeyId: string; secretAccessKey: string };
  jwtSecret: string;
  /** Broker only: a database URL (default SQLite in dataDir). */
  databaseUrl?: string;
  /** Broker only: more configuration (scanning, jobs, profiles). */
  config?: Record<string, unknown>;
  /** Broker only: run the pipeline worker (default off: the grant benchmarks measure grants alone). */
  worker?: boolean;
}

const options = JSON.parse(process.argv[2] as string) as ServeOptions;
mkdirSync(options.dataDir, { recursive: true });
const credentials = {
  accessKeyId: options.storage.accessKeyId,
  secretAccessKey: options.storage.secretAccessKey,
};

function sign(key: string, body: { size: number; type: string }): string {
  return presignUrl({
    method: "PUT",
    url: objectUrl({ endpoint: options.storage.endpoint, bucket: "sluice", key }),
    credentials,
    region: "us-east-1",
    expiresIn: 900,
    headers: { "content-length": String(body.size), "content-type": body.type, "if-none-match": "*" },
  });
}

async function listen(app: Hono): Promise<string> {
  const address = await new Promise<AddressInfo>((resolve) => {
    serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, resolve);
  });
  return `http://127.0.0.1:${address.port}`;
}

/** Hono and the signer, nothing else: the floor of what a grant can cost. */
function bare(): Hono {
  const app = new Hono();
  app.post("/v1/uploads", async (c) => {
    const body = (await c.req.json()) as { name: string; size: number; type: string };
    return c.json({ url: sign(`t/u/${randomBytes(8).toString("hex")}/${body.name}`, body) });
  });
  return app;
}

/**
 * The same grant written plainly: JWT check, body check, one transaction
 * (upload row + audit row) with better-sqlite3 prepared statements, presign, a log line.
 */
function plain(): Hono {
  const db = new Database(`${options.dataDir}/plain.db`);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.exec(`CREATE TABLE uploads (id TEXT PRIMARY KEY, tenant TEXT, user_id TEXT, name TEXT, type TEXT,
    size INTEGER, key TEXT UNIQUE, state TEXT, created_at INTEGER, expires_at INTEGER);
    CREATE TABLE audit_log (id TEXT PRIMARY KEY, at INTEGER, tenant TEXT, user_id TEXT, action TEXT,
    subject TEXT, detail TEXT);`);
  const insert = db.prepare(
    "INSERT INTO uploads VALUES (@id, @tenant, @user_id, @name, @type, @size, @key, 'pending', @created_at, @expires_at)",
  );
  const auditRow = db.prepare("INSERT INTO audit_log VALUES (?, ?, ?, ?, 'upload.grant', ?, ?)");
  const record = db.transaction((row: Record<string, string | number>) => {
    insert.run(row);
    auditRow.run(
      randomUUID(),
      row.created_at,
      row.tenant,
      row.user_id,
      row.id,
      JSON.stringify({ size: row.size }),
    );
  });
  const key = new TextEncoder().encode(options.jwtSecret);
  const log = pino({ level: "info" });
  const app = new Hono();
  app.post("/v1/uploads", async (c) => {
    const token = /^Bearer (\S+)$/.exec(c.req.header("authorization") ?? "")?.[1];
    if (!token) return c.json({ error: "unauthorized" }, 401);
    const { payload } = await jwtVerify(token, key, { algorithms: ["HS256"] });
    const body = (await c.req.json()) as { name: string; size: number; type: string };
    if (typeof body.name !== "string" || typeof body.size !== "number" || typeof body.type !== "string") {
      return c.json({ error: "bad request" }, 400);
    }
    const id = randomUUID();
    const now = Date.now();
    const row = {
      id,
      tenant: String(payload.tenant),
      user_id: String(payload.sub),
      name: body.name,
      type: body.type,
      size: body.size,
      key: `${payload.tenant}/${payload.sub}/${id}/${body.name}`,
      created_at: now,
      expires_at: now + 900_000,
    };
    record(row);
    log.info({ method: "POST", route: "/v1/uploads", status: 201 }, "request");
    return c.json({ upload: { id }, put: { url: sign(row.key, body) } }, 201);
  });
  return app;
}

async function broker(): Promise<string> {
  const config = parseConfig({
    dataDir: options.dataDir,
    server: { port: 0 },
    storage: options.storage,
    database: { url: options.databaseUrl },
    auth: { jwt: { secret: options.jwtSecret } },
    ...options.config,
  });
  const running = await startBroker(config, { sweeper: false, worker: options.worker ?? false });
  return running.url;
}

const url =
  options.mode === "broker" ? await broker() : await listen(options.mode === "bare" ? bare() : plain());
process.send?.({ url });
