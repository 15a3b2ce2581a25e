// API keys and share links can be listed and revoked: a revoked key is refused
// on its next request by every broker sharing the database (SQLite file and
// PostgreSQL), a server key is its tenant's key admin, and a lost link id can
// be found again from its file.
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

    type Listed = { apiKeys: Array<{ id: string; tenant: string; user: string; revokedAt: string | null }> };
    const listAs = async (url: string, key: string, headers: Record<string, string> = {}) =>
      (await (
        await fetch(`${url}/v1/api-keys`, { headers: { "x-api-key": key, ...headers } })
      ).json()) as Listed;

    it("a server key lists and revokes every key of its tenant, and no other tenant's (404)", async () => {
      const admin = await createApiKey(h.config, { tenant: "initech", user: "backend", scope: "server" });
      const peter = await createApiKey(h.config, { tenant: "initech", user: "peter" });
      const milton = await createApiKey(h.config, { tenant: "initech", user: "milton" });
      const outsider = await createApiKey(h.config, { tenant: "initrode", user: "peter" });
      const outsiderAdmin = await createApiKey(h.config, {
        tenant: "initrode",
        user: "ops",
        scope: "server",
      });

      const tenantWide = await listAs(h.url, admin.key);
      assert.deepEqual(tenantWide.apiKeys.map((k) => k.id).sort(), [admin.id, peter.id, milton.id].sort());
      assert.ok(tenantWide.apiKeys.every((k) => k.tenant === "initech"));
      // A user key, and a server key acting for a user, see that user's keys only.
      assert.deepEqual(
        (await listAs(h.url, peter.key)).apiKeys.map((k) => k.id),
        [peter.id],
      );
      const forMilton = await listAs(other.url, admin.key, { "x-sluice-user": "milton" });
      assert.deepEqual(
        forMilton.apiKeys.map((k) => k.id),
        [milton.id],
      );

      // Another tenant's key is not found (no hint it exists), by either admin, and keeps working.
      for (const [key, id] of [
        [admin.key, outsider.id],
        [outsiderAdmin.key, peter.id],
        [peter.key, milton.id],
      ] as const) {
        const res = await asKey(other.url, key, `/v1/api-keys/${id}`, { method: "DELETE" });
        assert.equal(res.status, 404);
        assert.equal(((await res.json()) as { error: { code: string } }).error.code, "NotFound");
      }
      assert.equal((await asKey(h.url, outsider.key)).status, 200);
      assert.equal((await asKey(h.url, milton.key)).status, 200);

      assert.equal(
        (await asKey(h.url, admin.key, `/v1/api-keys/${milton.id}`, { method: "DELETE" })).status,
        204,
      );
      for (const url of [h.url, other.url]) assert.equal((await asKey(url, milton.key)).status, 401);
      // Revoking again is idempotent; audited once, under the owner, with the admin that acted.
      assert.equal(
        (await asKey(other.url, admin.key, `/v1/api-keys/${milton.id}`, { method: "DELETE" })).status,
        204,
      );
      const audit = (await (
        await asKey(h.url, admin.key, `/v1/audit?action=apikey.revoke&subject=${milton.id}`)
      ).json()) as { entries: Array<{ user: string; detail: { by?: string } | null }> };
      assert.deepEqual(
        audit.entries.map((e) => [e.user, e.detail?.by]),
        [["milton", `server-key:${admin.id}`]],
      );
      assert.ok((await listAs(other.url, admin.key)).apiKeys.find((k) => k.id === milton.id)?.revokedAt);
    });

    it("50 parallel revokes and uses on two brokers: once a revoke has answered, no request with the key succeeds", async () => {
      const admin = await createApiKey(h.config, { tenant: "hooli", user: "backend", scope: "server" });
      const gavin = await createApiKey(h.config, { tenant: "hooli", user: "gavin" });
      const brokers = [h.url, other.url];
      let revokeAnsweredAt = Number.POSITIVE_INFINITY;
      const uses: Array<{ sentAt: number; status: number }> = [];
      const use = async (url: string) => {
        const sentAt = performance.now();
        const res = await asKey(url, gavin.key);
        await res.body?.cancel();
        uses.push({ sentAt, status: res.status });
      };
      // 50 clients keep using the key while 50 revokes of it race on both brokers.
      const clients = Array.from({ length: 50 }, async (_, i) => {
        for (let n = 0; n < 4; n++) await use(brokers[(i + n) % 2]!);
      });
      await use(h.url);
      const revokes = Array.from({ length: 50 }, async (_, i) => {
        const res = await asKey(brokers[i % 2]!, admin.key, `/v1/api-keys/${gavin.id}`, { method: "DELETE" });
        revokeAnsweredAt = Math.min(revokeAnsweredAt, performance.now());
        return res.status;
      });
      assert.deepEqual(await Promise.all(revokes), Array(50).fill(204));
      await Promise.all(clients);
      await Promise.all(Array.from({ length: 50 }, (_, i) => use(brokers[i % 2]!)));

      assert.ok(
        uses.some((u) => u.status === 200),
        "the key worked before",
      );
      const late = uses.filter((u) => u.sentAt > revokeAnsweredAt);
      assert.ok(late.length >= 50);
      assert.deepEqual(
        late.filter((u) => u.status !== 401),
        [],
        "every request sent after a revoke answered is refused",
      );
      assert.ok(
        uses.every((u) => u.status === 200 || u.status === 401),
        "nothing else (no 500, no 503)",
      );
      const audit = (await (
        await asKey(other.url, admin.key, `/v1/audit?action=apikey.revoke&subject=${gavin.id}`)
      ).json()) as { entries: unknown[] };
      assert.equal(audit.entries.length, 1, "of 50 revokes, one took effect and is audited");
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
