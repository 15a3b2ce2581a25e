// Listing interrupted uploads from the Node client's state files, against a
// real broker and store: open uploads are listed with their progress, stale
// records (completed, aborted, expired) are dropped, others are left alone.
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createClient, FileResumeStore, type ResumeRecord, type ResumeStore, UploadQueue } from "./node.ts";
import { randomFile, type Stack, startStack } from "./test/stack.ts";

const MiB = 1024 * 1024;

describe("interrupted uploads", { timeout: 120_000 }, () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      profiles: { default: { maxSize: "100MB", multipartThreshold: "5MiB", partSize: "5MiB" } },
    });
  });
  after(() => stack.close());

  let dirs = 0;
  const stateDir = () => join(stack.dir, `state-${++dirs}`);
  const client = (store: ResumeStore, token = stack.token) =>
    createClient({ endpoint: stack.url, token, resumeStore: store });

  /** Uploads a 12 MiB file called `name` (three parts) until storage has its first part, then stops as a killed process would. */
  async function interrupt(store: FileResumeStore, name: string) {
    const file = await randomFile(stack.dir, name, 12 * MiB);
    await stopAfterFirstPart(store, file.path);
    return file;
  }

  async function stopAfterFirstPart(store: FileResumeStore, input: string | File): Promise<void> {
    let stop = () => {};
    // Paused right when the first part is recorded: with one part in flight, exactly one is stored.
    const stopping: ResumeStore = {
      get: (fingerprint) => store.get(fingerprint),
      delete: (fingerprint) => store.delete(fingerprint),
      list: () => store.list(),
      async set(fingerprint, record) {
        await store.set(fingerprint, record);
        if (Object.keys(record.parts).length > 0) stop();
      },
    };
    const task = client(stopping).upload(input, { profile: "default", concurrency: 1 });
    task.done.catch(() => {});
    const stopped = new Promise<void>((resolve) => {
      stop = () => {
        task.pause();
        resolve();
      };
    });
    await stopped;
  }

  test("an interrupted upload is listed with its file and progress, and gone once completed", async () => {
    const store = new FileResumeStore(stateDir());
    const file = await interrupt(store, "listed.bin");
    const [listed, ...more] = await client(store).interruptedUploads();
    assert.deepEqual(more, []);
    assert.equal(listed!.name, "listed.bin");
    assert.equal(listed!.path, file.path);
    assert.equal(listed!.size, 12 * MiB);
    assert.equal(listed!.profile, "default");
    assert.equal(listed!.partsDone, 1);
    assert.equal(listed!.bytesDone, 5 * MiB);
    assert.equal(typeof listed!.lastModified, "number");
    assert.equal((await client(store).api.getUpload(listed!.uploadId)).state, "pending");

    const result = await client(store).upload(file.path, { profile: "default" });
    assert.equal(result.id, listed!.uploadId);
    assert.equal(result.resumed, true);
    assert.deepEqual(await client(store).interruptedUploads(), []);
  });

  test("records of completed, aborted and expired uploads are dropped; other brokers' and users' are kept", async () => {
    const dir = stateDir();
    const store = new FileResumeStore(dir);
    const finishedFile = await interrupt(store, "completed.bin");
    await interrupt(store, "aborted.bin");
    await interrupt(store, "old.bin");
    await interrupt(store, "open.bin");
    const byName = new Map((await store.list()).map((entry) => [entry.record.name, entry]));
    const sluice = client(store);

    // Completed, and its record written again afterwards (by a run killed while it saved a part).
    const completed = byName.get("completed.bin")!;
    await sluice.upload(finishedFile.path, { profile: "default" });
    await store.set(completed.fingerprint, completed.record);
    await sluice.api.abort(byName.get("aborted.bin")!.record.uploadId);
    const old = byName.get("old.bin")!;
    await store.set(old.fingerprint, { ...old.record, updatedAt: Date.now() - 25 * 3600 * 1000 });
    const elsewhere: ResumeRecord = { ...old.record, endpoint: "http://127.0.0.1:1" };
    await store.set("0abc", elsewhere);

    const listed = await sluice.interruptedUploads();
    assert.deepEqual(
      listed.map((upload) => upload.name),
      ["open.bin"],
    );
    const left = (await readdir(dir)).sort();
    assert.deepEqual(left, [`${byName.get("open.bin")!.fingerprint}.json`, "0abc.json"].sort());

    // Another user of the same state directory sees none of them, and deletes none.
    assert.deepEqual(await client(store, await stack.tokenFor("bob")).interruptedUploads(), []);
    assert.equal((await readdir(dir)).length, 2);
  });

  test("abortInterrupted aborts the upload on the broker and forgets it", async () => {
    const store = new FileResumeStore(stateDir());
    await interrupt(store, "cancel.bin");
    const sluice = client(store);
    const [listed] = await sluice.interruptedUploads();
    await sluice.abortInterrupted(listed!);
    assert.equal((await sluice.api.getUpload(listed!.uploadId)).state, "aborted");
    assert.deepEqual(await store.list(), []);
    // Twice is fine: the upload is gone already.
    await sluice.abortInterrupted(listed!);
  });

  test("a queue shows interrupted uploads paused; the same file continues in its entry, cancel aborts", async () => {
    const store = new FileResumeStore(stateDir());
    const bytes = (seed: number) => new Uint8Array(12 * MiB).map((_, i) => (i * seed) % 251);
    const again = new File([bytes(7)], "again.bin", { lastModified: 1_700_000_000_000 });
    const dropped = new File([bytes(11)], "dropped.bin", { lastModified: 1_700_000_000_000 });
    await stopAfterFirstPart(store, again);
    await stopAfterFirstPart(store, dropped);

    const queue = new UploadQueue(client(store), { profile: "default" });
    await queue.restoreInterrupted();
    await queue.restoreInterrupted(); // idempotent: not listed twice
    const restored = queue.getSnapshot();
    assert.deepEqual(
      restored.map((item) => [item.name, item.state, item.needsFile, item.progress.bytesSent, item.size]),
      [
        ["again.bin", "paused", true, 5 * MiB, 12 * MiB],
        ["dropped.bin", "paused", true, 5 * MiB, 12 * MiB],
      ],
    );
    const [waiting, cancelled] = restored;
    queue.resume(waiting!.key); // without the file there is nothing to resume
    assert.equal(queue.get(waiting!.key)!.state, "paused");

    // Same name and size, another mtime: another file, a new entry.
    const other = new File([bytes(7)], "again.bin", { lastModified: 1 });
    const [otherKey] = queue.add([other]);
    const [againKey] = queue.add([again]);
    assert.notEqual(otherKey, waiting!.key);
    assert.equal(againKey, waiting!.key, "the file continues in its entry");
    queue.cancel(cancelled!.key);

    const settled = (key: string) =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (["ready", "rejected", "failed"].includes(queue.get(key)!.state)) resolve();
        };
        queue.subscribe(check);
        check();
      });
    await Promise.all([settled(againKey!), settled(otherKey!)]);
    const item = queue.get(againKey!)!;
    assert.equal(item.state, "ready", item.reason);
    assert.equal(item.uploadId, waiting!.uploadId);
    assert.equal(item.resumed, true);
    assert.equal(queue.get(otherKey!)!.resumed, false);
    assert.equal(queue.getSnapshot().length, 3, "no second entry for the continued file");

    assert.equal(queue.get(cancelled!.key)!.state, "cancelled");
    // The entry is forgotten once the broker aborted the upload.
    while ((await store.list()).length > 0) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal((await client(store).api.getUpload(cancelled!.uploadId!)).state, "aborted");
  });
});
