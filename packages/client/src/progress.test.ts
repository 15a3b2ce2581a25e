import assert from "node:assert/strict";
import { test } from "node:test";
import { ProgressMeter } from "./progress.ts";

test("speed and ETA come from the bytes counted over the window", () => {
  let now = 0;
  const meter = new ProgressMeter(1000, { now: () => now, windowMs: 5000 });
  assert.equal(meter.snapshot().eta, undefined);
  now = 1000;
  meter.add(100);
  now = 2000;
  meter.add(100);
  const snap = meter.snapshot();
  assert.equal(snap.bytesSent, 200);
  assert.equal(snap.speed, 100);
  assert.equal(snap.eta, 8);
});

test("failed attempts take their bytes back; the count stays within 0..total", () => {
  const meter = new ProgressMeter(100);
  meter.add(80);
  meter.add(-30);
  assert.equal(meter.bytes, 50);
  meter.add(-500);
  assert.equal(meter.bytes, 0);
  meter.add(500);
  assert.equal(meter.bytes, 100);
  assert.equal(meter.snapshot().eta, 0);
});

test("old samples leave the window, so speed follows the recent rate", () => {
  let now = 0;
  const meter = new ProgressMeter(10_000, { now: () => now, windowMs: 1000 });
  now = 100;
  meter.add(5000);
  for (let t = 1000; t <= 5000; t += 500) {
    now = t;
    meter.add(100);
  }
  assert.ok(meter.snapshot().speed < 300, `speed ${meter.snapshot().speed}`);
});

test("bytes done before a resume count as done but never as speed", () => {
  let now = 0;
  const meter = new ProgressMeter(1000, { now: () => now, windowMs: 5000 });
  meter.skip(900); // resumed: 900 bytes were already in storage
  assert.equal(meter.bytes, 900);
  assert.equal(meter.snapshot().speed, 0, "nothing was sent yet");
  now = 1000;
  meter.add(50);
  const snap = meter.snapshot();
  assert.equal(snap.bytesSent, 950);
  assert.equal(snap.speed, 50, "50 bytes in the second since the resume");
  assert.equal(snap.eta, 1);
});
