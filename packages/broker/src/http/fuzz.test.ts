// Hostile input on every route: malformed ids, bodies and methods must give a
// JSON 4xx, never a 500, and the broker keeps serving.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { grant, type Harness, startHarness } from "../test/harness.ts";

const ids = [
  "x",
  "..",
  "%2e%2e%2f",
  "%00",
  "a".repeat(65),
  "' OR 1=1 --",
  "😀",
  "00000000-0000-0000-0000-000000000000",
];
const bodies = [
  "",
  "{",
  "[]",
  "null",
  "true",
  '"s"',
  "{}",
  '{"partNumbers":"all"}',
  '{"partNumbers":[1e309]}',
  '{"parts":[{"partNumber":-1}]}',
  '{"expiresIn":-5}',
  '{"maxDownloads":0}',
  '{"__proto__":{"admin":true}}',
  randomBytes(64).toString("latin1"),
];

describe("hostile input on every route", () => {
  let h: Harness;
  let realId: string;
  before(async () => {
    h = await startHarness();
    realId = (await grant(h, { name: "a.txt", size: 3, type: "text/plain" })).upload.id;
  });
  after(() => h?.close());

  it("answers JSON 4xx to malformed ids and bodies", async () => {
    const paths = (id: string) => [
      ["GET", `/v1/uploads/${id}`],
      ["DELETE", `/v1/uploads/${id}`],
      ["POST", `/v1/uploads/${id}/parts`],
      ["GET", `/v1/uploads/${id}/parts`],
      ["POST", `/v1/uploads/${id}/complete`],
      ["POST", `/v1/uploads/${id}/grant`],
      ["GET", `/v1/files/${id}`],
      ["DELETE", `/v1/files/${id}`],
      ["GET", `/v1/files/${id}/download`],
      ["POST", `/v1/files/${id}/links`],
      ["DELETE", `/v1/links/${id}`],
      ["GET", `/l/${id}`],
    ];
    const failures: string[] = [];
    for (const id of [...ids, realId]) {
      for (const [method, path] of paths(id)) {
        for (const body of method === "POST" ? bodies : [undefined]) {
          const res = await h.api(path!, {
            method,
            body,
            headers: body === undefined ? {} : { "content-type": "application/json" },
          });
          const text = await res.text();
          const isJson = text === "" || text.startsWith("{");
          if (res.status >= 500 || (res.status >= 400 && !isJson))
            failures.push(`${method} ${path} ${body ?? ""} → ${res.status} ${text.slice(0, 80)}`);
        }
      }
    }
    assert.deepEqual(failures, []);
    for (const query of [
      "?limit=0",
      "?limit=abc",
      "?before=yesterday",
      "?state=pending",
      "?limit=99999",
      "?cursor=bm9wZQ",
    ]) {
      const res = await h.api(`/v1/files${query}`);
      assert.equal(res.status, 400, query);
    }
    assert.equal((await fetch(`${h.url}/healthz`)).status, 200);
  });
});
