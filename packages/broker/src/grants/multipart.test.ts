import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MAX_PARTS, MIN_PART_SIZE, partLength, planParts } from "./multipart.ts";

describe("multipart plan", () => {
  it("uses the profile's part size, never below 5 MiB", () => {
    assert.deepEqual(planParts(100 * 1024 ** 2, 16 * 1024 ** 2), { partSize: 16 * 1024 ** 2, partCount: 7 });
    assert.equal(planParts(100, 1024).partSize, MIN_PART_SIZE);
    assert.equal(planParts(0, MIN_PART_SIZE).partCount, 1);
  });

  it("grows parts so a 5 TiB object fits in 10,000 parts", () => {
    const size = 5 * 1024 ** 4;
    const plan = planParts(size, 8 * 1024 ** 2);
    assert.ok(plan.partCount <= MAX_PARTS);
    assert.ok(plan.partSize * plan.partCount >= size);
  });

  it("gives the last part the remainder", () => {
    const plan = { size: 11, partSize: 5, partCount: 3 };
    assert.deepEqual(
      [1, 2, 3].map((n) => partLength(plan, n)),
      [5, 5, 1],
    );
  });
});
