import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { errors } from "@sluice/core";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { createApiKey } from "../admin.ts";
import { type Harness, startHarness, TEST_SECRET } from "../test/harness.ts";

const secretKey = new TextEncoder().encode(TEST_SECRET);

async function hs256(claims: Record<string, unknown>, expiresIn: string | number = "5m", key = secretKey) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256" })
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(key);
}

function unsigned(claims: Record<string, unknown>): string {
  const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
  return `${enc({ alg: "none", typ: "JWT" })}.${enc({ exp: Math.floor(Date.now() / 1000) + 300, ...claims })}.`;
}

async function status(h: Harness, token: string | undefined, headers: Record<string, string> = {}) {
  const res = await fetch(`${h.url}/v1/files`, {
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
  });
  const body = (await res.json()) as { error?: { code: string } };
  return { status: res.status, code: body.error?.code };
}

describe("authentication", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({
      broker: {
        authorize: (request) => {
          const header = request.headers.get("x-test-user");
          if (header === "blocked") throw errors.forbidden("blocked by hook");
          return header ? { tenant: "hooked", user: header } : null;
        },
      },
    });
  });
  after(() => h?.close());

  it("accepts a valid HS256 token", async () => {
    assert.equal((await status(h, await hs256({ sub: "alice", tenant: "acme" }))).status, 200);
  });

  it("refuses missing, malformed, forged, expired and alg-none tokens with 401", async () => {
    assert.deepEqual(await status(h, undefined), { status: 401, code: "Unauthorized" });
    assert.equal((await status(h, "not.a.jwt")).status, 401);
    assert.equal((await status(h, "garbage")).status, 401);
    const forged = await hs256(
      { sub: "alice", tenant: "acme" },
      "5m",
      new TextEncoder().encode("x".repeat(48)),
    );
    assert.deepEqual(await status(h, forged), { status: 401, code: "InvalidToken" });
    const expired = await hs256({ sub: "alice", tenant: "acme" }, Math.floor(Date.now() / 1000) - 60);
    assert.deepEqual(await status(h, expired), { status: 401, code: "TokenExpired" });
    assert.deepEqual(await status(h, unsigned({ sub: "alice", tenant: "acme" })), {
      status: 401,
      code: "InvalidToken",
    });
    const tampered = (await hs256({ sub: "alice", tenant: "acme" })).split(".");
    tampered[1] = Buffer.from(JSON.stringify({ sub: "bob", tenant: "acme", exp: 9999999999 })).toString(
      "base64url",
    );
    assert.equal((await status(h, tampered.join("."))).status, 401);
  });

  it("remembers a verified token by its exact bytes: the same claims with another signature are refused", async () => {
    const token = await hs256({ sub: "carol", tenant: "acme" });
    assert.equal((await status(h, token)).status, 200);
    const [header, payload, signature] = token.split(".") as [string, string, string];
    const flipped = `${signature[0] === "A" ? "B" : "A"}${signature.slice(1)}`;
    assert.deepEqual(await status(h, `${header}.${payload}.${flipped}`), {
      status: 401,
      code: "InvalidToken",
    });
    assert.equal((await status(h, token)).status, 200, "the verified token still passes");
  });

  it("refuses tokens without exp or without a tenant", async () => {
    const noExp = await new SignJWT({ sub: "alice", tenant: "acme" })
      .setProtectedHeader({ alg: "HS256" })
      .sign(secretKey);
    assert.equal((await status(h, noExp)).status, 401);
    assert.equal((await status(h, await hs256({ sub: "alice" }))).status, 401);
  });

  it("API keys: created hashed, scoped to their tenant, revocable by hash only", async () => {
    const { key } = await createApiKey(h.config, { tenant: "acme", user: "ci-bot", name: "ci" });
    assert.match(key, /^sk_/);
    assert.equal((await status(h, key)).status, 200);
    assert.equal((await status(h, undefined, { "x-api-key": key })).status, 200);
    assert.deepEqual(await status(h, `${key}x`), { status: 401, code: "InvalidApiKey" });
  });

  it("the authorize hook can accept, refuse or defer", async () => {
    assert.equal((await status(h, undefined, { "x-test-user": "carol" })).status, 200);
    assert.equal((await status(h, undefined, { "x-test-user": "blocked" })).status, 403);
    assert.equal(
      (await status(h, undefined)).status,
      401,
      "null from the hook falls back to built-in checks",
    );
  });

  it("keeps serving after hostile tokens", async () => {
    assert.equal((await status(h, "a".repeat(8_000))).status, 401);
    const huge = await fetch(`${h.url}/v1/files`, {
      headers: { authorization: `Bearer ${"a".repeat(60_000)}` },
    });
    assert.equal(huge.status, 431, "Node refuses oversized headers before the app");
    assert.equal((await fetch(`${h.url}/healthz`)).status, 200);
  });
});

describe("JWKS (RS256/ES256 from an identity provider)", () => {
  let h: Harness;
  let jwksServer: Server;
  let rsa: CryptoKey;
  let ec: CryptoKey;
  let other: CryptoKey;
  before(async () => {
    const rsaPair = await generateKeyPair("RS256");
    const ecPair = await generateKeyPair("ES256");
    rsa = rsaPair.privateKey;
    ec = ecPair.privateKey;
    other = (await generateKeyPair("RS256")).privateKey;
    const keys = [
      { ...(await exportJWK(rsaPair.publicKey)), kid: "rsa", alg: "RS256", use: "sig" },
      { ...(await exportJWK(ecPair.publicKey)), kid: "ec", alg: "ES256", use: "sig" },
    ];
    jwksServer = createServer((_req, res) => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ keys }));
    });
    await new Promise<void>((resolve) => jwksServer.listen(0, "127.0.0.1", resolve));
    const { port } = jwksServer.address() as AddressInfo;
    h = await startHarness({
      config: {
        auth: {
          jwt: {
            jwksUrl: `http://127.0.0.1:${port}/.well-known/jwks.json`,
            issuer: "https://idp.example",
            audience: "sluice",
            defaultTenant: "idp",
          },
        },
      },
    });
  });
  after(async () => {
    await h?.close();
    jwksServer?.close();
  });

  const sign = (key: CryptoKey, alg: string, kid: string, claims: Record<string, unknown> = {}) =>
    new SignJWT({ sub: "user-1", ...claims })
      .setProtectedHeader({ alg, kid })
      .setIssuer((claims.iss as string) ?? "https://idp.example")
      .setAudience((claims.aud as string) ?? "sluice")
      .setExpirationTime("5m")
      .sign(key);

  it("accepts RS256 and ES256 tokens signed by the provider's keys", async () => {
    assert.equal((await status(h, await sign(rsa, "RS256", "rsa"))).status, 200);
    assert.equal((await status(h, await sign(ec, "ES256", "ec"))).status, 200);
  });

  it("refuses another key, wrong issuer, wrong audience, and HS256 (no secret configured)", async () => {
    assert.equal((await status(h, await sign(other, "RS256", "rsa"))).status, 401);
    assert.equal(
      (await status(h, await sign(rsa, "RS256", "rsa", { iss: "https://evil.example" }))).status,
      401,
    );
    assert.equal((await status(h, await sign(rsa, "RS256", "rsa", { aud: "other" }))).status, 401);
    assert.equal((await status(h, await hs256({ sub: "x", tenant: "acme" }))).status, 401);
    assert.equal(
      (await status(h, unsigned({ sub: "x", iss: "https://idp.example", aud: "sluice" }))).status,
      401,
    );
  });
});
