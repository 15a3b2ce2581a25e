// Quotas under concurrency: 50 grants at once never pass the byte quota or
// the pending-upload limit, on SQLite and on PostgreSQL; what an abort, an
// expiry or a rejection frees can be granted again.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { testDatabases } from "../test/databases.ts";
import { type Harness, putBytes, startHarness } from "../test/harness.ts";
import { sweep } from "./sweeper.ts";

const MiB = 1024 * 1024;

for (const database of testDatabases()) {
  describe(`quotas under concurrency on ${database.name}`, { skip: database.skip }, () => {
    let h: Harness;
    let drop: () => Promise<void>;
    before(async () => {
      const created = await database.create();
      drop = created.drop;
      h = await startHarness({
        databaseUrl: created.url,
        config: {
          profiles: { default: { multipartThreshold: "5MB", partSize: "5MB" } },
          quotas: { maxBytesPerUser: "60MiB", maxPendingPerUser: 20 },
          sweeper: { interval: "1h" },
        },
      });
    });
    after(async () => {
      await h?.close();
      await drop?.();
    });

    const grants = (n: number, body: Record<string, unknown>, as: string) =>
      Promise.all(
        Array.from({ length: n }, (_, i) =>
          h.api("/v1/uploads", { method: "POST", json: { ...body, name: `f${i}.bin` }, as }),
        ),
      );
    const statuses = (responses: Response[]) => {
      const count: Record<number, number> = {};
      for (const res of responses) count[res.status] = (count[res.status] ?? 0) + 1;
      return count;
    };

    it("50 concurrent 10 MiB multipart grants against a 60 MiB quota: exactly 6 pass", async () => {
      const responses = await grants(50, { size: 10 * MiB, type: "application/octet-stream" }, "bytes");
      assert.deepEqual(statuses(responses), { 201: 6, 413: 44 });
      const refused = (await responses.find((r) => r.status === 413)!.json()) as { error: { code: string } };
      assert.equal(refused.error.code, "QuotaExceeded");
      // Aborting one frees its bytes for exactly one more.
      const granted = (await responses.find((r) => r.status === 201)!.json()) as { upload: { id: string } };
      assert.equal(
        (await h.api(`/v1/uploads/${granted.upload.id}`, { method: "DELETE", as: "bytes" })).status,
        200,
      );
      assert.deepEqual(statuses(await grants(5, { size: 10 * MiB, type: "text/plain" }, "bytes")), {
        201: 1,
        413: 4,
      });
    });

    it("50 concurrent grants against maxPendingPerUser 20: exactly 20 pass; expiry frees the slots", async () => {
      const responses = await grants(50, { size: 1, type: "text/plain" }, "pending");
      assert.deepEqual(statuses(responses), { 201: 20, 429: 30 });
      await sweep(h.context(), { now: Date.now() + 3_600_000 });
      assert.deepEqual(statuses(await grants(25, { size: 1, type: "text/plain" }, "pending")), {
        201: 20,
        429: 5,
      });
    });

    it("completion checks the quota again: a lowered quota rejects the upload", async () => {
      const res = await h.api("/v1/uploads", {
        method: "POST",
        json: { name: "late.txt", size: 4, type: "text/plain" },
        as: "late",
      });
      const g = (await res.json()) as {
        upload: { id: string };
        put: { url: string; headers: Record<string, string> };
      };
      assert.equal((await putBytes(g.put, Buffer.from("late"))).status, 200);
      const quotas = h.context().config.quotas;
      const before = quotas.maxBytesPerUser;
      quotas.maxBytesPerUser = 3;
      try {
        const done = await h.api(`/v1/uploads/${g.upload.id}/complete`, { method: "POST", as: "late" });
        const file = (await done.json()) as { state: string; reason: string };
        assert.deepEqual([file.state, file.reason], ["rejected", "storage quota exceeded"]);
      } finally {
        quotas.maxBytesPerUser = before;
      }
    });
  });
}
