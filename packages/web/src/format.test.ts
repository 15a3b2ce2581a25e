import assert from "node:assert/strict";
import { test } from "node:test";
import { formatDuration, formatSize, formatSpeed } from "./format.ts";

test("sizes use binary units with one decimal below 10", () => {
  assert.equal(formatSize(0), "0 B");
  assert.equal(formatSize(1023), "1023 B");
  assert.equal(formatSize(1536), "1.5 KiB");
  assert.equal(formatSize(40 * 1024 ** 2), "40 MiB");
  assert.equal(formatSpeed(2.5 * 1024 ** 2), "2.5 MiB/s");
});

test("durations round up and switch units", () => {
  assert.equal(formatDuration(0.2), "1 s");
  assert.equal(formatDuration(75), "1 min 15 s");
  assert.equal(formatDuration(3 * 3600 + 120), "3 h 2 min");
  assert.equal(formatDuration(-5), "0 s");
});
