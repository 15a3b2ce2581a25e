import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { FileResumeStore } from "./node/file-resume-store.ts";
import { fingerprint } from "./resume-state.ts";
import { sampleRecord } from "./test/records.ts";

const base = { endpoint: "http://b", profile: "default", name: "a.bin", size: 10, lastModified: 1 };

test("the fingerprint changes with name, size, mtime, profile and endpoint", () => {
  const one = fingerprint(base);
  assert.match(one, /^[0-9a-f]{16}$/);
  assert.equal(fingerprint({ ...base }), one);
  for (const change of [
    { name: "b.bin" },
    { size: 11 },
    { lastModified: 2 },
    { profile: "x" },
    { endpoint: "http://c" },
  ]) {
    assert.notEqual(fingerprint({ ...base, ...change }), one, JSON.stringify(change));
  }
});

test("the file store keeps records across instances, privately, and forgets corrupt ones", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "sluice-resume-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const record = sampleRecord();
  const fp = fingerprint(base);
  await Promise.all([1, 2, 3].map(() => new FileResumeStore(dir).set(fp, record)));
  assert.deepEqual(await new FileResumeStore(dir).get(fp), record);
  assert.equal((await stat(join(dir, `${fp}.json`))).mode & 0o777, 0o600);
  assert.deepEqual(await readdir(dir), [`${fp}.json`]);

  await writeFile(join(dir, `${fp}.json`), '{"uploadId": 5');
  assert.equal(await new FileResumeStore(dir).get(fp), undefined);
  await new FileResumeStore(dir).delete(fp);
  assert.deepEqual(await readdir(dir), []);
  await assert.rejects(new FileResumeStore(dir).get("../../etc/passwd"), RangeError);
});

test("the file store lists its records and removes the unreadable ones; a missing directory lists nothing", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "sluice-resume-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  assert.deepEqual(await new FileResumeStore(join(dir, "none")).list(), []);
  const store = new FileResumeStore(dir);
  const one = sampleRecord({ uploadId: "u1", name: "one.bin", lastModified: 5, endpoint: "http://b" });
  const two = sampleRecord({ uploadId: "u2" });
  await Promise.all([store.set("aa", one), store.set("bb", two)]);
  await writeFile(join(dir, "cc.json"), '{"uploadId": 5');
  await writeFile(join(dir, "dd.json"), JSON.stringify({ ...two, name: 7 }));
  await writeFile(join(dir, "ee.json.123.tmp"), "being written by another process");
  await writeFile(join(dir, "notes.txt"), "not ours");

  const listed = await new FileResumeStore(dir).list();
  assert.deepEqual(
    listed.sort((a, b) => a.fingerprint.localeCompare(b.fingerprint)),
    [
      { fingerprint: "aa", record: one },
      { fingerprint: "bb", record: two },
    ],
  );
  assert.deepEqual((await readdir(dir)).sort(), ["aa.json", "bb.json", "ee.json.123.tmp", "notes.txt"]);
});

test("deleting a record removes the temporary files a killed writer left, never a live writer's", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "sluice-resume-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const store = new FileResumeStore(dir);
  await store.set("ab", sampleRecord());
  // A process that has exited: its pid no longer runs (SIGKILLed between write and rename).
  const dead = spawnSync(process.execPath, [
    "-e",
    "process.stdout.write(String(process.pid))",
  ]).stdout.toString();
  await writeFile(join(dir, `ab.json.${dead}.0badc0de.tmp`), "{");
  const live = `ab.json.${process.ppid}.1234abcd.tmp`;
  await writeFile(join(dir, live), "{");
  await writeFile(join(dir, `cd.json.${dead}.0badc0de.tmp`), "{"); // another upload's: left to its own delete
  await store.delete("ab");
  assert.deepEqual((await readdir(dir)).sort(), [live, `cd.json.${dead}.0badc0de.tmp`].sort());
});
