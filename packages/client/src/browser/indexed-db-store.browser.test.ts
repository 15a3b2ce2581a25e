// Resume state in IndexedDB, in headless Chromium against a real broker and
// store: it survives a reload, expires, and a corrupt entry is ignored.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { chromiumTier } from "@sluice/core/testing";
import type { Page } from "playwright-core";
import { type BrowserSite, inPage, startBrowserSite, throttleUploads } from "../test/chromium.ts";
import { READ_RECORDS, WRITE_RECORDS } from "../test/indexed-db-page.ts";

const tier = chromiumTier();
const MiB = 1024 * 1024;

/** A 12 MiB file (three 5 MiB parts) that is "the same file" again after a reload: same bytes, name and mtime. */
const FILE = `new File([new Uint8Array(12 * 1024 * 1024).map((_, i) => (i * 13) % 251)], "reload.bin", { lastModified: 1700000000000 })`;

/** Starts the upload with the default store and returns once IndexedDB holds a finished part; the upload goes on until the page goes away. */
const START_AND_WAIT_FOR_A_PART = `async (token) => {
  const sdk = await import("/assets/sluice-client.js");
  window.task = sdk.createClient({ endpoint: location.origin, token }).upload(${FILE}, { profile: "default", concurrency: 1 });
  window.task.done.catch(() => {});
  for (const deadline = Date.now() + 30000; Date.now() < deadline; ) {
    const records = await (${READ_RECORDS})();
    if (records.some((r) => Object.keys(r.value.parts).length > 0)) return records;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error("no part was saved in IndexedDB within 30 s");
}`;

const UPLOAD_AGAIN = `async (token) => {
  const sdk = await import("/assets/sluice-client.js");
  const client = sdk.createClient({ endpoint: location.origin, token });
  const sent = [];
  const result = await client.upload(${FILE}, { profile: "default", onProgress: (p) => sent.push(p.bytesSent) });
  const settled = await client.waitUntilSettled(result.id);
  return { id: result.id, resumed: result.resumed, state: settled.state, sent, left: (await (${READ_RECORDS})()).length };
}`;

const LIST_INTERRUPTED = `async (token) => {
  const sdk = await import("/assets/sluice-client.js");
  return sdk.createClient({ endpoint: location.origin, token }).interruptedUploads();
}`;

interface Outcome {
  id: string;
  resumed: boolean;
  state: string;
  sent: number[];
  left: number;
}

describe("IndexedDB resume store in Chromium", { skip: tier.available ? false : tier.reason }, () => {
  let site: BrowserSite;
  before(async () => {
    site = await startBrowserSite(tier.available ? tier.value : "");
  });
  after(() => site?.close());

  async function interruptedUpload(): Promise<{
    page: Page;
    records: Array<{ key: string; value: unknown }>;
  }> {
    const page = await site.newPage();
    await throttleUploads(page, 4 * MiB);
    const records = await inPage<Array<{ key: string; value: { uploadId: string } }>>(
      page,
      START_AND_WAIT_FOR_A_PART,
      site.token,
    );
    assert.equal(records.length, 1);
    assert.equal(
      await page.evaluate(() => localStorage.length),
      0,
      "IndexedDB is the default, not localStorage",
    );
    return { page, records };
  }

  test("an upload cut by a reload resumes from the saved state: same upload, stored parts not sent again", async () => {
    const { page, records } = await interruptedUpload();
    await page.reload();
    const outcome = await inPage<Outcome>(page, UPLOAD_AGAIN, site.token);
    assert.equal(outcome.resumed, true);
    assert.equal(outcome.id, (records[0]!.value as { uploadId: string }).uploadId);
    assert.equal(outcome.state, "ready");
    assert.ok(outcome.sent[0]! >= 5 * MiB, `progress starts after the stored part: ${outcome.sent[0]}`);
    assert.equal(outcome.sent.at(-1), 12 * MiB);
    assert.equal(outcome.left, 0, "the record is deleted after completion");
    await page.close();
  });

  test("a corrupt record for the file is ignored: the upload starts over and completes", async () => {
    const { page, records } = await interruptedUpload();
    await page.reload();
    await inPage(page, WRITE_RECORDS, [[records[0]!.key, { uploadId: 42, parts: "nope" }]]);
    const outcome = await inPage<Outcome>(page, UPLOAD_AGAIN, site.token);
    assert.equal(outcome.resumed, false);
    assert.equal(outcome.state, "ready");
    assert.equal(outcome.sent.at(-1), 12 * MiB);
    assert.equal(outcome.left, 0);
    await page.close();
  });

  test("expired and corrupt records are dropped: by get(), and all of them when a page opens the database", async () => {
    const page = await site.newPage();
    const now = Date.now();
    const valid = { uploadId: "u", profile: "default", size: 10, partSize: 5, parts: {}, updatedAt: now };
    const bad = [
      ["expired", { ...valid, updatedAt: now - 3_600_001 }],
      ["wrong-shape", { ...valid, size: "10" }],
      ["not-an-object", "{garbage"],
      ["null", null],
    ];
    await inPage(page, WRITE_RECORDS, [["fresh", valid], ...bad]);
    const keys = `(${READ_RECORDS})().then((records) => records.map((r) => r.key).sort())`;

    // A new page opens the database once and sweeps it, without being asked for those keys.
    await page.reload();
    const swept = await inPage<{ fresh: unknown; keys: string[] }>(
      page,
      `async () => {
        const sdk = await import("/assets/sluice-client.js");
        const store = new sdk.IndexedDbResumeStore({ ttlMs: 3600000 });
        const fresh = await store.get("fresh");
        await new Promise((resolve) => setTimeout(resolve, 100));
        return { fresh, keys: await ${keys} };
      }`,
    );
    assert.deepEqual(swept.fresh, valid);
    assert.deepEqual(swept.keys, ["fresh"]);

    // Written after that sweep: get() itself refuses and removes them, and nothing throws.
    const read = await inPage<{ values: unknown[]; keys: string[] }>(
      page,
      `async (bad) => {
        const sdk = await import("/assets/sluice-client.js");
        const store = new sdk.IndexedDbResumeStore({ ttlMs: 3600000 });
        await store.get("fresh");
        await (${WRITE_RECORDS})(bad);
        const values = await Promise.all(bad.map(([key]) => store.get(key)));
        return { values, keys: await ${keys} };
      }`,
      bad,
    );
    assert.deepEqual(read.values, [undefined, undefined, undefined, undefined]);
    assert.deepEqual(read.keys, ["fresh"]);
    await page.close();
  });

  test("after a reload the interrupted upload is listed with its file and progress, until it completes", async () => {
    const { page, records } = await interruptedUpload();
    await page.reload();
    const listed = await inPage<Array<Record<string, unknown>>>(page, LIST_INTERRUPTED, site.token);
    assert.equal(listed.length, 1);
    const [upload] = listed;
    const parts = Object.keys((records[0]!.value as { parts: object }).parts).length;
    assert.equal(upload!.uploadId, (records[0]!.value as { uploadId: string }).uploadId);
    assert.equal(upload!.fingerprint, records[0]!.key);
    assert.equal(upload!.name, "reload.bin");
    assert.equal(upload!.size, 12 * MiB);
    assert.equal(upload!.lastModified, 1700000000000);
    assert.equal(upload!.profile, "default");
    assert.ok((upload!.partsDone as number) >= parts, `${upload!.partsDone} parts done`);
    // One part in flight at a time: parts 1..n are the stored ones.
    assert.equal(upload!.bytesDone, Math.min(12 * MiB, (upload!.partsDone as number) * 5 * MiB));

    await inPage<Outcome>(page, UPLOAD_AGAIN, site.token);
    assert.deepEqual(await inPage(page, LIST_INTERRUPTED, site.token), []);
    await page.close();
  });

  test("list() returns the fresh records of IndexedDB and of localStorage, and deletes the others", async () => {
    const page = await site.newPage();
    const now = Date.now();
    const valid = { uploadId: "u", profile: "default", size: 10, partSize: 5, parts: {}, updatedAt: now };
    const named = { ...valid, uploadId: "v", name: "a.bin", lastModified: 1, endpoint: "http://b" };
    const bad = [
      ["expired", { ...valid, updatedAt: now - 3_600_001 }],
      ["wrong-shape", { ...valid, name: 5 }],
      ["null", null],
    ];
    const outcome = await inPage<Record<string, unknown>>(
      page,
      `async ([valid, named, bad]) => {
        const sdk = await import("/assets/sluice-client.js");
        const store = new sdk.IndexedDbResumeStore({ ttlMs: 3600000 });
        await store.get("none"); // opened (and swept) before the bad records are written
        await (${WRITE_RECORDS})([["one", valid], ["two", named], ...bad]);
        const listed = await store.list();
        const keys = (await (${READ_RECORDS})()).map((r) => r.key).sort();

        localStorage.clear();
        localStorage.setItem("other-app", "kept");
        const local = new sdk.KeyValueResumeStore(localStorage, 3600000);
        await local.set("one", valid);
        await local.set("two", named);
        for (const [key, value] of bad) localStorage.setItem("sluice:upload:" + key, JSON.stringify(value));
        const localListed = await local.list();
        const localKeys = Object.keys(localStorage).sort();
        localStorage.clear();
        return { listed, keys, localListed, localKeys };
      }`,
      [valid, named, bad],
    );
    const byKey = (entries: unknown) =>
      (entries as Array<{ fingerprint: string }>).sort((a, b) => a.fingerprint.localeCompare(b.fingerprint));
    const expected = [
      { fingerprint: "one", record: valid },
      { fingerprint: "two", record: named },
    ];
    assert.deepEqual(byKey(outcome.listed), expected);
    assert.deepEqual(outcome.keys, ["one", "two"]);
    assert.deepEqual(byKey(outcome.localListed), expected);
    assert.deepEqual(outcome.localKeys, ["other-app", "sluice:upload:one", "sluice:upload:two"]);
    await page.close();
  });

  test("a database that cannot be opened falls back to the given store", async () => {
    const page = await site.newPage();
    const outcome = await inPage<{ saved: string | null; got: unknown }>(
      page,
      `async () => {
        const sdk = await import("/assets/sluice-client.js");
        // A newer version of the database exists: opening version 1 fails with a VersionError.
        await new Promise((resolve) => { indexedDB.open("sluice-newer", 5).onsuccess = (e) => { e.target.result.close(); resolve(); }; });
        const store = new sdk.IndexedDbResumeStore({ database: "sluice-newer", fallback: new sdk.KeyValueResumeStore(sessionStorage) });
        const record = { uploadId: "u", profile: "default", size: 10, partSize: 5, parts: {}, updatedAt: Date.now() };
        await store.set("abc", record);
        return { saved: sessionStorage.getItem("sluice:upload:abc"), got: await store.get("abc") };
      }`,
    );
    assert.equal(JSON.parse(outcome.saved!).uploadId, "u");
    assert.equal((outcome.got as { uploadId: string }).uploadId, "u");
    await page.close();
  });
});
