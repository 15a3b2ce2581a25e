// API keys and share links can be listed and revoked: a revoked key is refused
// on its next request by every broker sharing the database (SQLite file and
// PostgreSQL), and a lost link id can be found again from its file.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import pino from "pino";
import { createApiKey } from "../admin.ts";
import { type RunningBroker, startBroker } from "../server.ts";
import { testDatabases } from "../test/databases.ts";
import { grant, type Harness, putBytes, startHarness } from "../test/harness.ts";

for (const database of testDatabases()) {
  describe(`API keys and links listed and revoked on ${database.name}`, { skip: database.skip }, () => {
    let h: Harness;
    let other: RunningBroker;
    let drop: () => Promise<void>;
    before(async () => {
      const created = await database.create();
      drop = created.drop;
      h = await startHarness({ databaseUrl: created.url });
      // A second broker on the same database and storage.
      other = await startBroker(
        { ...h.config, server: { ...h.config.server, port: 0 } },
        { logger: pino({ level: "silent" }), worker: false, sweeper: false },
      );
    });
    after(async () => {
      await other?.close();
      await h?.close();
      await drop?.();
    });

    const asKey = (url: string, key: string, path = "/v1/files", init: RequestInit = {}) =>
      fetch(`${url}${path}`, { ...init, headers: { "x-api-key": key } });

    it("a key lists its user's keys only, and a revoked key is refused by both brokers at once", async () => {
      const laptop = await createApiKey(h.config, { tenant: "acme", user: "carol", name: "laptop" });
      const ci = await createApiKey(h.config, { tenant: "acme", user: "carol", name: "ci" });
      const bob = await createApiKey(h.config, { tenant: "acme", user: "bob", name: "bob's" });
      const listed = (await (await asKey(h.url, ci.key, "/v1/api-keys")).json()) as {
        apiKeys: Array<{ id: string; name: string; user: string; revokedAt: string | null }>;
      };
      assert.deepEqual(listed.apiKeys.map((k) => k.name).sort(), ["ci", "laptop"]);
      assert.ok(!JSON.stringify(listed).includes(laptop.key), "never a secret");
      for (const url of [h.url, other.url]) assert.equal((await asKey(url, laptop.key)).status, 200);

      // Another user's key is not found; one's own is revoked.
      assert.equal((await asKey(h.url, ci.key, `/v1/api-keys/${bob.id}`, { method: "DELETE" })).status, 404);
      assert.equal(
        (await asKey(h.url, ci.key, `/v1/api-keys/${laptop.id}`, { method: "DELETE" })).status,
        204,
      );
      for (const url of [h.url, other.url]) {
        const res = await asKey(url, laptop.key);
        assert.equal(res.status, 401, `${url} refuses the revoked key`);
        assert.equal(((await res.json()) as { error: { code: string } }).error.code, "InvalidApiKey");
      }
      assert.equal((await asKey(other.url, bob.key)).status, 200, "other keys work");
      const after = (await (await asKey(other.url, ci.key, "/v1/api-keys")).json()) as typeof listed;
      assert.ok(after.apiKeys.find((k) => k.id === laptop.id)?.revokedAt);
      // A key can revoke itself: its very next request is refused.
      assert.equal(
        (await asKey(other.url, ci.key, `/v1/api-keys/${ci.id}`, { method: "DELETE" })).status,
        204,
      );
      assert.equal((await asKey(h.url, ci.key)).status, 401);
    });

    it("GET /v1/files/:id/links lists a file's links (not their tokens) so a lost id can be revoked", async () => {
      const g = await grant(h, { name: "s.txt", size: 5, type: "text/plain" });
      await putBytes(g.put, Buffer.from("share"));
      await h.api(`/v1/uploads/${g.upload.id}/complete`, { method: "POST" });
      const make = async (json: unknown) =>
        (await (await h.api(`/v1/files/${g.upload.id}/links`, { method: "POST", json })).json()) as {
          id: string;
          url: string;
        };
      const first = await make({ maxDownloads: 2 });
      const second = await make({ expiresIn: 60 });
      const list = async () =>
        (
          (await (await h.api(`/v1/files/${g.upload.id}/links`)).json()) as {
            links: Array<{ id: string; maxDownloads: number | null; uses: number; revokedAt: string | null }>;
          }
        ).links;
      const links = await list();
      assert.deepEqual(
        links.map((l) => l.id),
        [second.id, first.id],
      );
      assert.ok(!JSON.stringify(links).includes(new URL(first.url).pathname.slice(3)), "no token");
      assert.equal(links[1]!.maxDownloads, 2);
      assert.equal((await h.api(`/v1/links/${first.id}`, { method: "DELETE" })).status, 204);
      assert.ok((await list()).find((l) => l.id === first.id)!.revokedAt);
      assert.equal((await fetch(first.url, { redirect: "manual" })).status, 410, "a revoked link is gone");
      assert.equal((await h.api(`/v1/files/${g.upload.id}/links`, { as: "mallory" })).status, 404);
    });
  });
}
