import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, describe, it } from "node:test";
import { type Harness, startHarness } from "../test/harness.ts";

describe("HTTP surface", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({
      broker: {
        web: (request, host) =>
          new URL(request.url).pathname === "/"
            ? new Response(`page for ${Object.keys(host.profiles).join(",")} at ${host.storageOrigin}`)
            : undefined,
      },
      config: {
        rateLimits: { grantsPerMinutePerUser: 3 },
        cors: { origins: ["https://app.example"] },
        quotas: { maxPendingPerUser: 100 },
      },
    });
  });
  after(() => h?.close());

  it("serves /healthz, /readyz and Prometheus /metrics", async () => {
    assert.deepEqual(await (await fetch(`${h.url}/healthz`)).json(), { ok: true });
    const ready = await fetch(`${h.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { ok: true, checks: { database: true, storage: true } });
    await h.api("/v1/files");
    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    assert.match(metrics, /# TYPE sluice_http_requests_total counter/);
    assert.match(metrics, /sluice_http_requests_total\{method="GET",route="\/v1\/files",status="200"\} \d+/);
    assert.match(metrics, /sluice_http_request_duration_seconds_bucket\{route="\/v1\/files",le="\+Inf"\}/);
    assert.match(metrics, /# TYPE sluice_jobs_queued gauge\nsluice_jobs_queued \d+/);
  });

  it("publishes OpenAPI 3.1 generated from the route schemas", async () => {
    const doc = (await (await fetch(`${h.url}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
      webhooks: Record<string, { post: { requestBody: unknown } }>;
      components: { schemas: Record<string, unknown> };
    };
    assert.equal(doc.openapi, "3.1.0");
    assert.deepEqual(Object.keys(doc.webhooks).sort(), [
      "file.deleted",
      "file.ready",
      "file.rejected",
      "link.used",
      "upload.expired",
    ]);
    assert.ok(doc.components.schemas.FileReadyEvent && doc.components.schemas.Metadata);
    for (const path of [
      "/v1/uploads",
      "/v1/uploads/{id}",
      "/v1/uploads/{id}/parts",
      "/v1/uploads/{id}/complete",
      "/v1/files",
      "/v1/files/{id}/download",
      "/v1/files/{id}/links",
      "/v1/links/{id}",
      "/l/{token}",
      "/v1/links",
      "/v1/audit",
      "/v1/tokens",
      "/v1/webhooks/deliveries",
      "/v1/webhooks/deliveries/{id}",
      "/v1/webhooks/deliveries/{id}/replay",
    ]) {
      assert.ok(doc.paths[path], `documents ${path}`);
    }
    assert.ok(doc.components.schemas.Grant && doc.components.schemas.Upload && doc.components.schemas.Error);
  });

  it("answers unknown routes and bad bodies with JSON errors, never 500", async () => {
    const missing = await h.api("/v1/nothing");
    assert.equal(missing.status, 404);
    assert.deepEqual(Object.keys(((await missing.json()) as { error: object }).error), ["code", "message"]);
    const huge = await h.api("/v1/uploads", {
      method: "POST",
      json: { name: "x".repeat(100_000), size: 1, type: "text/plain" },
    });
    assert.equal(huge.status, 413);
    // Without Content-Length (chunked), the limit counts the bytes as they arrive.
    const token = await h.token("chunky");
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = request(`${h.url}/v1/uploads`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      });
      req.on("response", (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.write("x".repeat(50_000)); // written before the end: sent chunked
      req.end("x".repeat(50_000));
    });
    assert.equal(chunked, 413);
    for (const [i, body] of ["[]", "null", "1", '{"name":{"$gt":""}}', "\u0000"].entries()) {
      // One user per body: grants are rate-limited per user in this suite.
      const res = await h.api("/v1/uploads", {
        method: "POST",
        body,
        headers: { "content-type": "application/json" },
        as: `fuzz${i}`,
      });
      assert.equal(res.status, 400, body);
    }
    const noType = await h.api("/v1/uploads", { method: "POST", body: "name=x", as: "fuzz-form" });
    assert.equal(noType.status, 415, "JSON only");
  });

  it("hands other paths to the web front-end, never API paths", async () => {
    assert.equal(await (await fetch(`${h.url}/`)).text(), `page for default at ${h.storeEndpoint}`);
    assert.equal((await fetch(`${h.url}/nothing-here`)).status, 404);
    const api = await h.api("/v1/unknown");
    assert.equal(api.status, 404);
    assert.equal(api.headers.get("content-type"), "application/json");
  });

  it("applies the CORS allowlist to the API", async () => {
    const allowed = await fetch(`${h.url}/v1/uploads`, {
      method: "OPTIONS",
      headers: { origin: "https://app.example", "access-control-request-method": "POST" },
    });
    assert.equal(allowed.headers.get("access-control-allow-origin"), "https://app.example");
    const denied = await fetch(`${h.url}/v1/uploads`, {
      method: "OPTIONS",
      headers: { origin: "https://evil.example", "access-control-request-method": "POST" },
    });
    assert.notEqual(denied.headers.get("access-control-allow-origin"), "https://evil.example");
  });

  it("rate-limits grants per user with 429 and Retry-After, other users unaffected", async () => {
    const body = { name: "a.txt", size: 1, type: "text/plain" };
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 5; i++) {
      const res = await h.api("/v1/uploads", { method: "POST", json: body, as: "limited" });
      statuses.push(res.status);
      if (res.status === 429) retryAfter = res.headers.get("retry-after");
    }
    assert.deepEqual(statuses, [201, 201, 201, 429, 429]);
    assert.ok(Number(retryAfter) >= 1 && Number(retryAfter) <= 60);
    assert.equal((await h.api("/v1/uploads", { method: "POST", json: body, as: "other" })).status, 201);
  });
});

describe("quotas", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ config: { quotas: { maxBytesPerUser: "1KB", maxPendingPerUser: 2 } } });
  });
  after(() => h?.close());

  it("refuses grants beyond the byte quota (413) and the pending-upload quota (429)", async () => {
    const over = await h.api("/v1/uploads", {
      method: "POST",
      json: { name: "a", size: 2000, type: "text/plain" },
    });
    assert.equal(over.status, 413);
    assert.equal(((await over.json()) as { error: { code: string } }).error.code, "QuotaExceeded");
    for (let i = 0; i < 2; i++) {
      assert.equal(
        (await h.api("/v1/uploads", { method: "POST", json: { name: "a", size: 10, type: "text/plain" } }))
          .status,
        201,
      );
    }
    const third = await h.api("/v1/uploads", {
      method: "POST",
      json: { name: "a", size: 10, type: "text/plain" },
    });
    assert.equal(third.status, 429);
    assert.ok(third.headers.get("retry-after"));
    assert.equal(
      (
        await h.api("/v1/uploads", {
          method: "POST",
          json: { name: "a", size: 10, type: "text/plain" },
          as: "bob",
        })
      ).status,
      201,
      "quotas are per user",
    );
  });
});

describe("per-IP rate limit", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({
      config: { server: { trustProxy: true }, rateLimits: { requestsPerMinutePerIp: 3 } },
    });
  });
  after(() => h?.close());

  it("listens on a free port although the test sets other server options", () => {
    assert.notEqual(new URL(h.url).port, "8080", "8080 is where `npm start` listens");
  });

  it("counts per client address (X-Forwarded-For behind a trusted proxy), health checks exempt", async () => {
    const hit = (ip: string) =>
      fetch(`${h.url}/l/${"A".repeat(32)}`, { headers: { "x-forwarded-for": `${ip}, 10.0.0.1` } });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await hit("198.51.100.7")).status);
    assert.deepEqual(statuses, [404, 404, 404, 429]);
    assert.equal((await hit("198.51.100.8")).status, 404, "another client is unaffected");
    assert.equal(
      (await fetch(`${h.url}/healthz`, { headers: { "x-forwarded-for": "198.51.100.7" } })).status,
      200,
    );
  });
});
