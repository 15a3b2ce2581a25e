import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { listAudit } from "../db/audit.ts";
import { openDatabase } from "../db/open.ts";
import { insertUpload } from "../db/uploads.ts";
import { testDatabases, uploadRow } from "../test/databases.ts";
import { grant, type Harness, putBytes, sha256Hex, startHarness } from "../test/harness.ts";

async function readyFile(h: Harness, name: string, data: Uint8Array, as = "alice") {
  const g = await grant(h, { name, size: data.length, type: "text/plain" }, as);
  assert.equal((await putBytes(g.put, data)).status, 200);
  const done = await h.api(`/v1/uploads/${g.upload.id}/complete`, { method: "POST", as });
  assert.equal(((await done.json()) as { state: string }).state, "ready");
  return g.upload.id;
}

async function share(h: Harness, id: string, body: Record<string, unknown>) {
  const res = await h.api(`/v1/files/${id}/links`, { method: "POST", json: body });
  assert.equal(res.status, 201);
  return (await res.json()) as { id: string; url: string; expiresAt: string };
}

for (const database of testDatabases()) {
  describe(`files, downloads and share links (${database.name})`, { skip: database.skip }, () => {
    let h: Harness;
    let drop: (() => Promise<void>) | undefined;
    const text = Buffer.from("hello, Sluice\n");
    let fileId: string;
    before(async () => {
      const created = await database.create();
      drop = created.drop;
      h = await startHarness({ databaseUrl: created.url });
      fileId = await readyFile(h, "Grüße «report».txt", text);
    });
    after(async () => {
      await h?.close();
      await drop?.();
    });

    it("lists the owner's files only", async () => {
      await readyFile(h, "bob.txt", Buffer.from("bob\n"), "bob");
      const res = await h.api("/v1/files");
      const { files } = (await res.json()) as { files: Array<{ id: string; name: string }> };
      assert.deepEqual(
        files.map((f) => f.id),
        [fileId],
      );
      assert.equal(files[0]!.name, "Grüße «report».txt");
    });

    it("pages with the `next` cursor: files sharing a millisecond are each listed once", async () => {
      const at = Date.now();
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) {
        const row = uploadRow({ tenant: "acme", user_id: "pager", state: "ready", created_at: at });
        await insertUpload(h.context().db, row);
        ids.push(row.id);
      }
      const seen: string[] = [];
      let next: string | null = null;
      do {
        const query: string = next ? `&cursor=${encodeURIComponent(next)}` : "";
        const page = (await (await h.api(`/v1/files?limit=3${query}`, { as: "pager" })).json()) as {
          files: Array<{ id: string }>;
          next: string | null;
        };
        seen.push(...page.files.map((f) => f.id));
        next = page.next;
      } while (next);
      assert.deepEqual(seen, ids.sort().reverse());
    });

    it("download: 302 to a presigned GET with an RFC 6266 filename, or JSON", async () => {
      const res = await h.api(`/v1/files/${fileId}/download`);
      assert.equal(res.status, 302);
      const object = await fetch(res.headers.get("location")!);
      assert.equal(Buffer.from(await object.arrayBuffer()).toString(), text.toString());
      assert.match(
        object.headers.get("content-disposition")!,
        /filename\*=UTF-8''Gr%C3%BC%C3%9Fe%20%C2%ABreport%C2%BB\.txt/,
      );
      const json = (await (await h.api(`/v1/files/${fileId}/download?json`)).json()) as {
        url: string;
        expiresAt: string;
      };
      assert.ok(json.url.startsWith(h.storeEndpoint));
      assert.ok(Date.parse(json.expiresAt) > Date.now());
    });

    it("another user's or tenant's file is 404 for every file route", async () => {
      for (const [as, tenant] of [
        ["bob", "acme"],
        ["alice", "evil"],
      ] as const) {
        for (const path of [`/v1/files/${fileId}`, `/v1/files/${fileId}/download`]) {
          assert.equal((await h.api(path, { as, tenant })).status, 404, `${as}@${tenant} ${path}`);
        }
        assert.equal(
          (await h.api(`/v1/files/${fileId}/links`, { method: "POST", json: {}, as, tenant })).status,
          404,
        );
        assert.equal((await h.api(`/v1/files/${fileId}`, { method: "DELETE", as, tenant })).status, 404);
      }
    });

    it("a 3-use link gives exactly 3 redirects to 50 concurrent hits", async () => {
      const link = await share(h, fileId, { maxDownloads: 3, expiresIn: 600 });
      assert.ok(link.url.startsWith(`${h.url}/l/`));
      assert.equal(
        (await fetch(link.url, { method: "HEAD", redirect: "manual" })).status,
        405,
        "HEAD spends no use",
      );
      const hits = await Promise.all(
        Array.from({ length: 50 }, () => fetch(link.url, { redirect: "manual" })),
      );
      const statuses = hits.map((r) => r.status);
      assert.equal(statuses.filter((s) => s === 302).length, 3);
      assert.equal(statuses.filter((s) => s === 410).length, 47, "used up: 410 Gone");
      const location = hits.find((r) => r.status === 302)!.headers.get("location")!;
      assert.ok(
        Number(new URL(location).searchParams.get("X-Amz-Expires")) <= 60,
        "link redirects live seconds",
      );
      assert.equal((await fetch(location)).status, 200);
    });

    it("revoked, expired and forged links are refused", async () => {
      const link = await share(h, fileId, {});
      assert.equal((await fetch(link.url, { redirect: "manual" })).status, 302);
      assert.equal(
        (await h.api(`/v1/links/${link.id}`, { method: "DELETE", as: "bob" })).status,
        404,
        "only the owner revokes",
      );
      assert.equal((await h.api(`/v1/links/${link.id}`, { method: "DELETE" })).status, 204);
      const revoked = await fetch(link.url, { redirect: "manual" });
      assert.equal(revoked.status, 410, "revoked at once: Gone");
      assert.equal(((await revoked.json()) as { error: { code: string } }).error.code, "LinkGone");
      const page = await fetch(link.url, {
        redirect: "manual",
        headers: { accept: "text/html,application/xhtml+xml,*/*;q=0.8" },
      });
      assert.equal(page.status, 410);
      assert.match(page.headers.get("content-type") ?? "", /^text\/html/);
      assert.match(
        await page.text(),
        /<h1>Link unavailable<\/h1><p>This link was revoked by its owner\.<\/p>/,
      );
      const short = await share(h, fileId, { expiresIn: 1 });
      await new Promise((r) => setTimeout(r, 1100));
      assert.equal((await fetch(short.url, { redirect: "manual" })).status, 410, "expired");
      for (const token of ["x", "A".repeat(32), "../../etc/passwd", "%00"]) {
        assert.equal((await fetch(`${h.url}/l/${token}`, { redirect: "manual" })).status, 404, "unknown");
      }
      const unknownPage = await fetch(`${h.url}/l/${"A".repeat(32)}`, { headers: { accept: "text/html" } });
      assert.equal(unknownPage.status, 404);
      assert.match(await unknownPage.text(), /Link unavailable/);
      assert.equal(
        (await h.api(`/v1/files/${fileId}/links`, { method: "POST", json: { expiresIn: 10 ** 9 } })).status,
        400,
      );
    });

    it("deleting a file removes the object and kills its links", async () => {
      const id = await readyFile(h, "gone.txt", Buffer.from("bye\n"));
      const link = await share(h, id, {});
      const before = (await (await h.api(`/v1/files/${id}/download?json`)).json()) as { url: string };
      assert.equal((await h.api(`/v1/files/${id}`, { method: "DELETE" })).status, 204);
      assert.equal((await h.api(`/v1/files/${id}`)).status, 404);
      assert.equal((await fetch(link.url, { redirect: "manual" })).status, 410, "the link existed: Gone");
      assert.equal((await fetch(before.url)).status, 404, "object removed from storage");
    });

    it("writes every grant, completion, verification, download and link use to the audit log", async () => {
      const metadata = await openDatabase(h.config.database.url!);
      try {
        const actions = new Set(
          (await listAudit(metadata.db, { subject: fileId, limit: 1000 })).map((e) => e.action),
        );
        for (const action of [
          "upload.grant",
          "upload.complete",
          "upload.ready",
          "file.download",
          "link.create",
          "link.use",
          "link.revoke",
        ]) {
          assert.ok(actions.has(action), `audit has ${action}`);
        }
      } finally {
        await metadata.close();
      }
    });

    it("a big text file is sniffed from its first bytes only", async () => {
      const data = Buffer.from("line of text\n".repeat(20_000));
      const id = await readyFile(h, "big.txt", data);
      const res = await h.api(`/v1/files/${id}/download`);
      const object = await fetch(res.headers.get("location")!);
      assert.equal(sha256Hex(new Uint8Array(await object.arrayBuffer())), sha256Hex(data));
    });
  });
}
