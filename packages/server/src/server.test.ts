import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { createApiKey } from "@sluice/broker";
import { grant, type Harness, putBytes, startHarness } from "@sluice/broker/testing";
import { isSluiceError } from "@sluice/core";
import { createSluiceServer, type SluiceServer, type WebhookEvent } from "./index.ts";

describe("@sluice/server against a running broker", () => {
  let h: Harness;
  let sluice: SluiceServer;
  let receiver: Server;
  const requests: Request[] = [];
  const webhookSecret = `whsec_${randomBytes(24).toString("base64")}`;

  const readyFile = async (user: string, metadata?: Record<string, unknown>) => {
    const data = Buffer.from("hello\n");
    const g = await grant(h, { name: "a.txt", size: data.length, type: "text/plain", metadata }, user);
    assert.equal((await putBytes(g.put, data)).status, 200);
    await h.api(`/v1/uploads/${g.upload.id}/complete`, { method: "POST", as: user });
    return g.upload.id;
  };

  before(async () => {
    // A receiver that turns what arrives into a Web Request, as a Hono or Next.js handler sees it.
    receiver = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      requests.push(
        new Request(`http://app${req.url}`, {
          method: "POST",
          headers: req.headers as Record<string, string>,
          body: Buffer.concat(chunks),
        }),
      );
      res.statusCode = 204;
      res.end();
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    const port = (receiver.address() as AddressInfo).port;
    h = await startHarness({
      config: {
        webhooks: { endpoints: { app: { url: `http://127.0.0.1:${port}/`, secrets: [webhookSecret] } } },
      },
    });
    const { key } = await createApiKey(h.config, { tenant: "acme", user: "backend", scope: "server" });
    sluice = createSluiceServer({
      url: h.url,
      key,
      webhookSecret: [`whsec_${randomBytes(24).toString("base64")}`, webhookSecret],
    });
  });
  after(async () => {
    await h?.close();
    receiver?.close();
  });

  it("files: list (tenant-wide, by user, by metadata), get, delete; errors are SluiceErrors", async () => {
    const a = await readyFile("alice", { ticket: 9 });
    const b = await readyFile("bob", { ticket: 10 });
    assert.deepEqual((await sluice.files.list()).files.map((f) => f.id).sort(), [a, b].sort());
    assert.deepEqual(
      (await sluice.files.list({ metadata: { ticket: 9 } })).files.map((f) => f.id),
      [a],
    );
    assert.deepEqual(
      (await sluice.files.list({ user: "bob" })).files.map((f) => f.id),
      [b],
    );
    const file = await sluice.files.get(a);
    assert.equal(file.user, "alice");
    assert.deepEqual(file.metadata, { ticket: 9 });
    await sluice.files.delete(b);
    await assert.rejects(sluice.files.get(b), (error) => isSluiceError(error) && error.status === 404);
  });

  it("links: create, list, revoke; tokens: a user token limited to a profile; audit: the file's history", async () => {
    const id = await readyFile("carol");
    const link = await sluice.links.create(id, { maxDownloads: 1 });
    assert.match(link.url, /\/l\//);
    assert.deepEqual(
      (await sluice.links.list({ file: id })).map((l) => l.id),
      [link.id],
    );
    await sluice.links.revoke(link.id);
    assert.equal((await fetch(link.url, { redirect: "manual" })).status, 410, "a revoked link is gone");
    const { token } = await sluice.tokens.create({ user: "carol", expiresIn: 60, profiles: ["default"] });
    const mine = await fetch(`${h.url}/v1/files/${id}`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(mine.status, 200);
    const { entries } = await sluice.audit.list({ subject: id });
    assert.deepEqual(
      entries.map((e) => e.action).filter((a) => a.startsWith("link")),
      ["link.create", "link.revoke"],
    );
  });

  it("apiKeys: the tenant's keys listed and one revoked; another tenant's is not found", async () => {
    const laptop = await createApiKey(h.config, { tenant: "acme", user: "erin", name: "laptop" });
    const elsewhere = await createApiKey(h.config, { tenant: "globex", user: "erin" });
    const keys = await sluice.apiKeys.list();
    assert.ok(keys.some((k) => k.id === laptop.id && k.user === "erin" && k.name === "laptop"));
    assert.ok(keys.every((k) => k.tenant === "acme"));
    await sluice.apiKeys.revoke(laptop.id);
    const res = await fetch(`${h.url}/v1/files`, { headers: { "x-api-key": laptop.key } });
    assert.equal(res.status, 401);
    await assert.rejects(
      sluice.apiKeys.revoke(elsewhere.id),
      (error) => isSluiceError(error) && error.status === 404,
    );
  });

  it("webhooks.verify turns a delivered Request into a typed event and refuses a tampered one (401)", async () => {
    const id = await readyFile("dave", { ticket: 3 });
    const deadline = Date.now() + 10_000;
    const find = async () => {
      for (const request of requests) {
        const event = JSON.parse(await request.clone().text()) as { data: { file: { id: string } } };
        if (event.data.file.id === id) return request;
      }
    };
    while (!(await find()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    const request = (await find())!;
    const tampered = new Request(request.url, {
      method: "POST",
      headers: request.headers,
      body: (await request.clone().text()).replace('"ticket":3', '"ticket":4'),
    });
    const event: WebhookEvent = await sluice.webhooks.verify(request);
    assert.equal(event.type, "file.ready");
    if (event.type === "file.ready") assert.deepEqual(event.data.file.metadata, { ticket: 3 });
    await assert.rejects(
      sluice.webhooks.verify(tampered),
      (error) => isSluiceError(error) && error.status === 401,
    );
    const { deliveries } = await sluice.webhooks.deliveries.list({ file: id });
    assert.equal(deliveries[0]!.state, "delivered");
    const log = await sluice.webhooks.deliveries.get(deliveries[0]!.id);
    assert.equal(log.attemptLog[0]!.status, 204);
    const replay = await sluice.webhooks.deliveries.replay(deliveries[0]!.id);
    assert.equal(replay.eventId, deliveries[0]!.eventId);
  });
});
