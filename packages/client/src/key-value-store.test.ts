// The resume store over a string key/value storage, driven through an
// AsyncStorage-like object (what React Native apps pass) and through the SDK's
// default entry, which is what React Native loads.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createClient, KeyValueResumeStore, type KeyValueStorage, type ResumeRecord } from "./index.ts";
import { sampleRecord } from "./test/records.ts";
import { type Stack, startStack } from "./test/stack.ts";

const MiB = 1024 * 1024;

/** The AsyncStorage contract: strings in and out, every call answers later (on a timer, like a native bridge). */
class InMemoryAsyncStorage implements KeyValueStorage {
  readonly items = new Map<string, string>();
  getItem(key: string): Promise<string | null> {
    return later(() => this.items.get(key) ?? null);
  }
  setItem(key: string, value: string): Promise<void> {
    return later(() => void this.items.set(key, String(value)));
  }
  removeItem(key: string): Promise<void> {
    return later(() => void this.items.delete(key));
  }
}

/** The Web Storage contract (localStorage): synchronous, enumerated by index. */
class InMemoryWebStorage implements KeyValueStorage {
  readonly items = new Map<string, string>();
  get length(): number {
    return this.items.size;
  }
  key(index: number): string | null {
    return [...this.items.keys()][index] ?? null;
  }
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, String(value));
  }
  removeItem(key: string): void {
    this.items.delete(key);
  }
}

function later<T>(fn: () => T): Promise<T> {
  return new Promise((resolve) => setTimeout(() => resolve(fn()), Math.random() * 3));
}

const record = sampleRecord;

test("records survive a new store over the same storage (an app restart)", async () => {
  const storage = new InMemoryAsyncStorage();
  const saved = record();
  await new KeyValueResumeStore(storage).set("abc", saved);
  assert.deepEqual([...storage.items.keys()], ["sluice:upload:abc"]);
  assert.deepEqual(await new KeyValueResumeStore(storage).get("abc"), saved);
});

test("expired records are not returned and are removed", async () => {
  const storage = new InMemoryAsyncStorage();
  const store = new KeyValueResumeStore(storage, 60_000);
  await store.set("old", record({ updatedAt: Date.now() - 60_001 }));
  await store.set("new", record({ updatedAt: Date.now() - 59_000 }));
  assert.equal(await store.get("old"), undefined);
  assert.equal((await store.get("new"))?.uploadId, "u1");
  assert.deepEqual([...storage.items.keys()], ["sluice:upload:new"]);
});

test("corrupt entries (bad JSON, wrong shape) are ignored and removed, not thrown", async () => {
  const storage = new InMemoryAsyncStorage();
  const store = new KeyValueResumeStore(storage);
  storage.items.set("sluice:upload:json", '{"uploadId": "u1", ');
  storage.items.set("sluice:upload:shape", JSON.stringify({ ...record(), size: "10" }));
  storage.items.set("sluice:upload:null", "null");
  for (const key of ["json", "shape", "null"]) assert.equal(await store.get(key), undefined, key);
  assert.equal(storage.items.size, 0);
});

test("writes land in call order even when the storage answers out of order", async () => {
  const storage = new InMemoryAsyncStorage();
  const store = new KeyValueResumeStore(storage);
  const writes = [1, 2, 3, 4, 5, 6, 7, 8].map((n) =>
    store.set("x", record({ parts: Object.fromEntries(Array.from({ length: n }, (_, i) => [i + 1, "e"])) })),
  );
  await Promise.all([...writes, store.delete("y")]);
  assert.equal(Object.keys((await store.get("x"))!.parts).length, 8);
  await Promise.all([store.set("x", record()), store.delete("x")]);
  assert.equal(storage.items.size, 0, "a delete after a set wins");
});

test("list() enumerates AsyncStorage (getAllKeys) and localStorage (length, key), dropping bad entries", async () => {
  const fresh = record({ name: "a.bin" });
  const asyncStorage = Object.assign(new InMemoryAsyncStorage(), {
    getAllKeys(this: InMemoryAsyncStorage) {
      return later(() => [...this.items.keys()]);
    },
  });
  const webStorage = new InMemoryWebStorage();
  for (const storage of [asyncStorage, webStorage]) {
    const store = new KeyValueResumeStore(storage, 60_000);
    await store.set("fresh", fresh);
    await store.set("old", record({ updatedAt: Date.now() - 60_001 }));
    storage.items.set("sluice:upload:corrupt", "{");
    storage.items.set("someone-else", "kept");
    assert.deepEqual(await store.list(), [{ fingerprint: "fresh", record: fresh }]);
    assert.deepEqual([...storage.items.keys()].sort(), ["sluice:upload:fresh", "someone-else"]);
  }
  assert.deepEqual(await new KeyValueResumeStore(new InMemoryAsyncStorage()).list(), [], "cannot enumerate");
});

test("a storage that throws (quota, disabled) costs the resume, not the upload", async () => {
  const broken: KeyValueStorage = {
    getItem: () => Promise.reject(new Error("disk I/O")),
    setItem: () => Promise.reject(new Error("quota")),
    removeItem: () => Promise.reject(new Error("disk I/O")),
  };
  const store = new KeyValueResumeStore(broken);
  await store.set("x", record());
  assert.equal(await store.get("x"), undefined);
  await store.delete("x");
});

describe("the default (browser / React Native) entry with an AsyncStorage-like store", () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      profiles: { default: { maxSize: "100MB", multipartThreshold: "5MiB", partSize: "5MiB" } },
    });
  });
  after(() => stack.close());

  test("an upload interrupted after a part resumes in a new client and sends only the rest", async () => {
    const storage = new InMemoryAsyncStorage();
    const client = () =>
      createClient({
        endpoint: stack.url,
        token: stack.token,
        resumeStore: new KeyValueResumeStore(storage),
      });
    const bytes = new Uint8Array(12 * MiB).map((_, i) => (i * 31) % 251);
    const file = new File([bytes], "phone.bin", { lastModified: 1_700_000_000_000 });

    const first = client().upload(file, { profile: "default", concurrency: 1 });
    first.done.catch(() => {});
    for (let saved = 0; saved === 0; await new Promise((resolve) => setTimeout(resolve, 5))) {
      const [value] = storage.items.values();
      saved = value ? Object.keys((JSON.parse(value) as ResumeRecord).parts).length : 0;
    }
    first.pause(); // the app is killed here: this task never continues

    const sent: number[] = [];
    const second = await client().upload(file, {
      profile: "default",
      onProgress: (p) => sent.push(p.bytesSent),
    });
    assert.equal(second.resumed, true);
    assert.equal(second.method, "multipart");
    assert.ok(sent[0]! >= 5 * MiB, `progress starts after the stored part: ${sent[0]}`);
    assert.equal(sent.at(-1), 12 * MiB);
    assert.equal(storage.items.size, 0, "the record is removed once the upload completed");
    assert.equal((await client().waitUntilSettled(second.id)).state, "ready");
  });

  test("a pause while the resume state is still being read holds the upload until resume()", async () => {
    const storage = new InMemoryAsyncStorage();
    let reading = () => {};
    const read = new Promise<void>((resolve) => {
      reading = resolve;
    });
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    // A slow storage (a busy native bridge): the read answers only when the test says so.
    const slow: KeyValueStorage = {
      getItem: async (key) => {
        reading();
        await gate;
        return storage.getItem(key);
      },
      setItem: (key, value) => storage.setItem(key, value),
      removeItem: (key) => storage.removeItem(key),
    };
    const client = createClient({
      endpoint: stack.url,
      token: stack.token,
      resumeStore: new KeyValueResumeStore(slow),
    });
    const task = client.upload(new File([new Uint8Array(6 * MiB)], "early.bin", { lastModified: 1 }), {
      profile: "default",
    });
    await read;
    task.pause();
    release();
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(task.progress().bytesSent, 0, "nothing sent while paused");
    task.resume();
    const result = await task;
    assert.equal((await client.waitUntilSettled(result.id)).state, "ready");
  });
});
