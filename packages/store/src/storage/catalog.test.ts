import assert from "node:assert/strict";
import { randomInt } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { StoreEvents } from "../events.ts";
import { Catalog, type ObjectRecord } from "./catalog.ts";

// Listing is checked against a naive reference on random keys: every page
// size, prefix and delimiter must give the same entries, in UTF-8 byte order.

const SEGMENTS = ["a", "b", "a/", "/", "//", "é", "日", "😀", "\uff5e", "-", ".", "..", "x y", "a/b", "~"];
const randomKey = () =>
  Array.from({ length: randomInt(1, 6) }, () => SEGMENTS[randomInt(SEGMENTS.length)]).join("");
const byUtf8 = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

function reference(keys: string[], prefix: string, delimiter: string): string[] {
  const out: string[] = [];
  for (const key of [...keys].sort(byUtf8)) {
    if (!key.startsWith(prefix)) continue;
    const at = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
    const entry = at >= 0 ? `P:${key.slice(0, at + delimiter.length)}` : `K:${key}`;
    if (out.at(-1) !== entry) out.push(entry);
  }
  return out;
}

describe("Catalog.list against a reference listing", () => {
  let dir: string;
  let catalog: Catalog;
  const keys = new Set<string>();
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "sluice-catalog-"));
    catalog = new Catalog(dir, new StoreEvents());
    catalog.createBucket("bkt", Date.now());
    while (keys.size < 400) keys.add(randomKey());
    for (const key of keys) {
      const record: ObjectRecord = {
        bucket: "bkt",
        key,
        size: 1,
        etag: '"x"',
        modified: 0,
        headers: {},
        checksums: {},
        blobs: [],
      };
      catalog.putObject(record);
    }
  });
  after(async () => {
    catalog.close();
    await rm(dir, { recursive: true, force: true });
  });

  test("random prefixes, delimiters and page sizes visit exactly the reference entries", () => {
    for (let round = 0; round < 200; round++) {
      const prefix = randomInt(3) === 0 ? "" : Array.from(randomKey()).slice(0, randomInt(1, 4)).join("");
      const delimiter = ["", "/", "//", "a", "日"][randomInt(5)] as string;
      const maxKeys = randomInt(1, 40);
      const seen: string[] = [];
      let after: Buffer | undefined;
      for (let pages = 0; ; pages++) {
        assert.ok(pages < 1000, "pagination does not end");
        const page = catalog.list({ bucket: "bkt", prefix, delimiter, maxKeys, ...(after ? { after } : {}) });
        assert.ok(page.entries.length <= maxKeys);
        seen.push(...page.entries.map((e) => ("prefix" in e ? `P:${e.prefix}` : `K:${e.object.key}`)));
        if (!page.truncated) break;
        assert.ok(page.next, "a truncated page says where to resume");
        after = page.next;
      }
      assert.deepEqual(
        seen,
        reference([...keys], prefix, delimiter),
        `prefix=${JSON.stringify(prefix)} delimiter=${JSON.stringify(delimiter)} maxKeys=${maxKeys}`,
      );
    }
  });

  test("a conditional write is checked and applied in one transaction", () => {
    const record: ObjectRecord = {
      bucket: "bkt",
      key: "cas",
      size: 1,
      etag: '"1"',
      modified: 0,
      headers: {},
      checksums: {},
      blobs: [{ id: "a".repeat(32), size: 1 }],
    };
    assert.deepEqual(catalog.putObject(record), []);
    assert.throws(() =>
      catalog.putObject(
        { ...record, etag: '"2"' },
        {
          precondition: (current) => {
            if (current) throw new Error("exists");
          },
        },
      ),
    );
    assert.equal(catalog.getObject("bkt", "cas")?.etag, '"1"');
    assert.deepEqual(
      catalog.putObject({ ...record, etag: '"3"', blobs: [] }),
      record.blobs,
      "the replaced version's blobs are handed back for removal",
    );
  });
});
