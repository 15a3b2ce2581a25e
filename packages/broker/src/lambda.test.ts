import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startStore } from "@sluice/store";
import pino from "pino";
import { signToken } from "./auth/jwt.ts";
import { parseConfig } from "./config/load.ts";
import { createLambdaHandler } from "./lambda.ts";
import { incomingKey, TEST_SECRET } from "./test/harness.ts";
import { apiGatewayEvent as event } from "./test/lambda-events.ts";

describe("AWS Lambda handler", () => {
  let dir: string;
  let store: Awaited<ReturnType<typeof startStore>>;
  let handler: ReturnType<typeof createLambdaHandler>;
  let config: ReturnType<typeof parseConfig>;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "sluice-lambda-"));
    const credentials = { accessKeyId: "AKLAMBDA", secretAccessKey: randomBytes(20).toString("hex") };
    store = await startStore({ dataDir: join(dir, "store"), port: 0, credentials: [credentials] });
    config = parseConfig({
      dataDir: join(dir, "broker"),
      storage: { endpoint: store.endpoint, ...credentials },
      auth: { jwt: { secret: TEST_SECRET } },
    });
    handler = createLambdaHandler(config, { logger: pino({ level: "silent" }) });
  });
  after(async () => {
    await handler?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const invoke = (e: ReturnType<typeof event>) =>
    // biome-ignore lint/suspicious/noExplicitAny: a hand-built API Gateway event
    handler(e as any, {} as any) as Promise<{
      statusCode: number;
      body: string;
      headers: Record<string, string>;
    }>;

  it("serves the same app behind API Gateway: health, auth, a grant that storage accepts", async () => {
    assert.equal((await invoke(event({ method: "GET", path: "/healthz" }))).statusCode, 200);
    assert.equal((await invoke(event({ method: "GET", path: "/v1/files" }))).statusCode, 401);
    const token = await signToken({
      secret: TEST_SECRET,
      tenant: "acme",
      user: "alice",
      jwt: config.auth.jwt,
    });
    const res = await invoke(
      event({
        method: "POST",
        path: "/v1/uploads",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ name: "l.txt", size: 3, type: "text/plain" }),
      }),
    );
    assert.equal(res.statusCode, 201, res.body);
    const grant = JSON.parse(res.body) as { put: { url: string; headers: Record<string, string> } };
    const { "content-length": _, ...headers } = grant.put.headers;
    const put = await fetch(grant.put.url, { method: "PUT", headers, body: "abc" });
    assert.equal(put.status, 200);
  });

  it("completes uploads from S3 events delivered through SNS → SQS, reporting only bad messages", async () => {
    const token = await signToken({
      secret: TEST_SECRET,
      tenant: "acme",
      user: "alice",
      jwt: config.auth.jwt,
    });
    const api = async (method: string, path: string, body?: unknown) => {
      const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
      const res = await invoke(
        event({ method, path, headers, body: body === undefined ? undefined : JSON.stringify(body) }),
      );
      return JSON.parse(res.body) as Record<string, unknown>;
    };
    const grant = (await api("POST", "/v1/uploads", {
      name: "q.txt",
      size: 4,
      type: "text/plain",
    })) as unknown as {
      upload: { id: string; key: string };
      put: { url: string; headers: Record<string, string> };
    };
    const { "content-length": _, ...headers } = grant.put.headers;
    assert.equal((await fetch(grant.put.url, { method: "PUT", headers, body: "sqs\n" })).status, 200);

    const s3Event = {
      Records: [
        {
          eventName: "ObjectCreated:Put",
          s3: { bucket: { name: "sluice" }, object: { key: incomingKey(grant.upload.key) } },
        },
      ],
    };
    const sns = { Type: "Notification", Message: JSON.stringify(s3Event) };
    const result = (await handler(
      {
        Records: [
          { eventSource: "aws:sqs", messageId: "m1", body: JSON.stringify(sns) },
          { eventSource: "aws:sqs", messageId: "m2", body: JSON.stringify({ Event: "s3:TestEvent" }) },
          { eventSource: "aws:sqs", messageId: "m3", body: "{not json" },
        ],
      },
      // biome-ignore lint/suspicious/noExplicitAny: no Lambda context needed
      {} as any,
    )) as { batchItemFailures: Array<{ itemIdentifier: string }> };
    assert.deepEqual(result.batchItemFailures, [{ itemIdentifier: "m3" }]);
    const deadline = Date.now() + 10_000;
    let state = "";
    while (state !== "ready" && Date.now() < deadline) {
      state = String((await api("GET", `/v1/uploads/${grant.upload.id}`)).state);
      if (state !== "ready") await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(state, "ready");
  });
});
