import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, test } from "node:test";
import type { Harness } from "@sluice/broker/testing";
import { startHarness } from "@sluice/broker/testing";
import { createWebPages } from "./index.ts";
import { PROFILES } from "./test/browser.ts";

// No JWT secret configured: the broker generates one and mints a development token.
let site: Harness;
before(async () => {
  site = await startHarness({ config: { profiles: PROFILES, auth: {} }, broker: { web: createWebPages() } });
});
after(() => site.close());

/** GET over node:http, which lets the test choose the Host header. */
function get(
  path: string,
  host?: string,
): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const url = new URL(path, site.url);
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: host ? { host } : {} }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => (body += chunk));
      res.on("end", () =>
        resolve({ status: res.statusCode!, headers: res.headers as Record<string, string>, body }),
      );
    });
    req.on("error", reject);
    req.end();
  });
}

test("the page is served at / with a strict CSP that allows the storage origin", async () => {
  const page = await get("/");
  assert.equal(page.status, 200);
  assert.match(page.headers["content-type"]!, /^text\/html/);
  const csp = page.headers["content-security-policy"]!;
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.ok(csp.includes(`connect-src 'self' ${new URL(site.storeEndpoint).origin}`), csp);
  assert.match(page.body, /<script type="module" src="\/assets\/app\.js">/);
  assert.match(page.body, /<option value="default"/);
});

test("the development token is filled in for loopback requests only", async () => {
  const local = await get("/");
  const token = /id="token"[^>]*value="([^"]+)"/s.exec(local.body)?.[1];
  assert.ok(token && token.split(".").length === 3, "a JWT is filled in");
  // A DNS-rebound site reaches 127.0.0.1 with its own Host name: no token.
  const rebound = await get("/", `evil.example:${new URL(site.url).port}`);
  assert.equal(rebound.status, 200);
  assert.doesNotMatch(rebound.body, /value="ey/);
  assert.ok(!rebound.body.includes(token));
});

test("assets are served; unknown paths and assets stay JSON 404s; the API is untouched", async () => {
  const script = await get("/assets/app.js");
  assert.equal(script.status, 200);
  assert.match(script.headers["content-type"]!, /^text\/javascript/);
  const sdk = await get("/assets/sluice-client.js");
  assert.equal(sdk.headers["access-control-allow-origin"], "*", "any app may import the SDK bundle");
  for (const path of ["/assets/nope.js", "/assets/../package.json", "/nowhere"]) {
    const res = await get(path);
    assert.equal(res.status, 404, path);
    assert.match(res.body, /"error"/);
  }
  assert.equal((await get("/v1/files")).status, 401);
  assert.equal((await get("/healthz")).status, 200);
});
