import assert from "node:assert/strict";
import { test } from "node:test";
import { planParts } from "./part-plan.ts";

test("parts cover the file exactly, the last one short", () => {
  const parts = planParts(25, 10);
  assert.deepEqual(parts, [
    { partNumber: 1, start: 0, end: 10 },
    { partNumber: 2, start: 10, end: 20 },
    { partNumber: 3, start: 20, end: 25 },
  ]);
});

test("an exact multiple has no empty trailing part; an empty file has one empty part", () => {
  assert.equal(planParts(20, 10).length, 2);
  assert.deepEqual(planParts(0, 10), [{ partNumber: 1, start: 0, end: 0 }]);
});

test("invalid sizes and more than 10,000 parts are refused", () => {
  assert.throws(() => planParts(-1, 10), RangeError);
  assert.throws(() => planParts(10, 0), RangeError);
  assert.throws(() => planParts(10_001, 1), /10000/);
});
