import assert from "node:assert/strict";
import { test } from "node:test";
import { BufferPool } from "./buffer-pool.ts";

test("released buffers are reused for parts of the same or smaller size", () => {
  const pool = new BufferPool();
  const first = pool.acquire(100);
  assert.equal(first.byteLength, 100);
  pool.release(first);
  const again = pool.acquire(60);
  assert.equal(again.buffer, first.buffer, "same memory");
  assert.equal(again.byteLength, 60);
  const bigger = pool.acquire(200);
  assert.notEqual(bigger.buffer, first.buffer, "a larger part gets new memory");
  pool.release(again);
  assert.equal(pool.acquire(100).buffer, first.buffer, "full capacity again after release");
});
