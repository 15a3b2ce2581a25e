// The AWS Lambda package as deployed: `npm run build:lambda` makes the zip,
// it is unzipped, and plain node (no tsx, no source condition) loads its
// index.mjs and is fed API Gateway v2 and SQS events one by one, against the
// embedded store and a fresh PostgreSQL database (SQLite does not work on Lambda).
import assert from "node:assert/strict";
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { startStore } from "@sluice/store";
import { signToken } from "./auth/jwt.ts";
import { parseConfig } from "./config/load.ts";
import { testDatabases } from "./test/databases.ts";
import { TEST_SECRET } from "./test/harness.ts";
import { apiGatewayEvent, sqsS3Record } from "./test/lambda-events.ts";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const postgres = testDatabases().find((d) => d.name === "postgres")!;

const DRIVER = `import { createInterface } from "node:readline";
const { handler } = await import(process.argv[2]);
for await (const line of createInterface({ input: process.stdin })) {
  let reply;
  try { reply = { result: await handler(JSON.parse(line), {}) }; }
  catch (error) { reply = { error: String(error?.stack ?? error) }; }
  process.stdout.write(JSON.stringify(reply) + "\\n");
}
process.exit(0);
`;

interface ApiResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

describe("the built Lambda zip, run by plain node", { skip: postgres.skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), "sluice-lambda-zip-"));
  const bucket = "sluice";
  let store: Awaited<ReturnType<typeof startStore>>;
  let database: Awaited<ReturnType<typeof postgres.create>>;
  let child: ChildProcessWithoutNullStreams;
  let token: string;
  const replies: Array<(line: string) => void> = [];

  /** One invocation: the event on the driver's stdin, its reply on stdout. */
  const invoke = async (event: unknown): Promise<unknown> => {
    const line = await new Promise<string>((resolve) => {
      replies.push(resolve);
      child.stdin.write(`${JSON.stringify(event)}\n`);
    });
    const reply = JSON.parse(line) as { result?: unknown; error?: string };
    if (reply.error) throw new Error(reply.error);
    return reply.result;
  };
  const api = async (method: string, path: string, body?: unknown): Promise<ApiResult> =>
    (await invoke(
      apiGatewayEvent({
        method,
        path,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }),
    )) as ApiResult;
  const json = (res: ApiResult) => JSON.parse(res.body) as Record<string, unknown>;

  /** A grant and its bytes in storage; returns the upload id and the key the grant wrote. */
  const uploadBytes = async (name: string, bytes: string) => {
    const res = await api("POST", "/v1/uploads", { name, size: bytes.length, type: "text/plain" });
    assert.equal(res.statusCode, 201, res.body);
    const grant = json(res) as {
      upload: { id: string };
      put: { url: string; headers: Record<string, string> };
    };
    const { "content-length": _, ...headers } = grant.put.headers;
    assert.equal((await fetch(grant.put.url, { method: "PUT", headers, body: bytes })).status, 200);
    const written = decodeURIComponent(new URL(grant.put.url).pathname.slice(`/${bucket}/`.length));
    return { id: grant.upload.id, key: written };
  };
  const settled = async (id: string) => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const state = String(json(await api("GET", `/v1/uploads/${id}`)).state);
      if ((state !== "pending" && state !== "uploaded") || Date.now() > deadline) return state;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  before(async () => {
    execFileSync(process.execPath, [join(root, "scripts/build-lambda.mjs"), "--out", join(dir, "build")], {
      stdio: "ignore",
    });
    const unzipped = join(dir, "function");
    mkdirSync(unzipped);
    execFileSync("unzip", ["-q", join(dir, "build/sluice-lambda.zip"), "-d", unzipped]);
    writeFileSync(join(dir, "driver.mjs"), DRIVER);

    const credentials = { accessKeyId: "AKLAMBDAZIP", secretAccessKey: randomBytes(20).toString("hex") };
    store = await startStore({ dataDir: join(dir, "store"), port: 0, credentials: [credentials] });
    database = await postgres.create();
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      SLUICE_DATABASE_URL: database.url,
      SLUICE_STORAGE_ENDPOINT: store.endpoint,
      SLUICE_STORAGE_BUCKET: bucket,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_REGION: "us-east-1",
      SLUICE_JWT_SECRET: TEST_SECRET,
      SLUICE_DATA_DIR: join(dir, "data"),
      SLUICE_LOG_LEVEL: "silent",
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    };
    child = spawn(process.execPath, [join(dir, "driver.mjs"), join(unzipped, "index.mjs")], { env });
    createInterface({ input: child.stdout }).on("line", (line) => replies.shift()?.(line));
    child.stderr.pipe(process.stderr);
    const jwt = parseConfig({ auth: { jwt: { secret: TEST_SECRET } } }).auth.jwt;
    token = await signToken({ secret: TEST_SECRET, tenant: "acme", user: "alice", jwt });
  });

  after(async () => {
    child?.stdin.end();
    if (child && child.exitCode === null) await new Promise((resolve) => child.once("exit", resolve));
    await store?.close();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("answers API Gateway v2 events: a grant, its completion, and a share link's redirect", async () => {
    const { id } = await uploadBytes("zip.txt", "from the zip\n");
    const completed = await api("POST", `/v1/uploads/${id}/complete`, {});
    assert.ok(completed.statusCode === 200 || completed.statusCode === 202, completed.body);
    assert.equal(await settled(id), "ready");

    const link = await api("POST", `/v1/files/${id}/links`, { maxDownloads: 1 });
    assert.equal(link.statusCode, 201, link.body);
    const path = new URL(String(json(link).url)).pathname;
    assert.match(path, /^\/l\/[^/]+$/);
    const redirect = (await invoke(apiGatewayEvent({ method: "GET", path }))) as ApiResult;
    assert.equal(redirect.statusCode, 302, redirect.body);
    const download = await fetch(redirect.headers.location!);
    assert.equal(await download.text(), "from the zip\n");
    const used = (await invoke(apiGatewayEvent({ method: "GET", path }))) as ApiResult;
    assert.ok(used.statusCode >= 400 && used.statusCode < 500, `a used-up link answers ${used.statusCode}`);
  });

  it("completes uploads from an SQS batch of S3 events and reports only the poisoned record", async () => {
    const first = await uploadBytes("one.txt", "one\n");
    const second = await uploadBytes("two.txt", "two\n");
    const result = (await invoke({
      Records: [
        sqsS3Record("m-one", bucket, first.key),
        { eventSource: "aws:sqs", messageId: "m-poison", body: "{not json" },
        sqsS3Record("m-two", bucket, second.key),
      ],
    })) as { batchItemFailures: Array<{ itemIdentifier: string }> };
    assert.deepEqual(result.batchItemFailures, [{ itemIdentifier: "m-poison" }]);
    assert.equal(await settled(first.id), "ready");
    assert.equal(await settled(second.id), "ready");
  });

  it("runs the sweeper on the scheduled event", async () => {
    const result = await invoke({ source: "aws.events", "detail-type": "Scheduled Event", detail: {} });
    assert.deepEqual(Object.keys(result as object).sort(), [
      "abortedMultipart",
      "expired",
      "idleMultipart",
      "prunedEvents",
      "strays",
    ]);
  });
});
