import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { test } from "node:test";
import { createBars } from "./progress-bars.ts";

/** A terminal-like stream that keeps what the bars draw. */
function fakeTerminal() {
  const stream = Object.assign(new PassThrough(), { isTTY: true, columns: 120, rows: 40 });
  let text = "";
  stream.on("data", (chunk) => {
    text += chunk;
  });
  return { stream, text: () => text };
}

test("the total bar is the last line, below every file bar, also for files added later", () => {
  const terminal = fakeTerminal();
  const bars = createBars({ enabled: true, stream: terminal.stream });
  const first = bars.add("a.bin", 100);
  const second = bars.add("b.bin", 100);
  first({ bytesSent: 50, total: 100, speed: 10, eta: 5 });
  const third = bars.add("c.bin", 100); // the third file starts once a worker is free
  second({ bytesSent: 20, total: 100, speed: 10, eta: 8 });
  third({ bytesSent: 10, total: 100, speed: 10, eta: 9 });
  bars.stop();
  const frame = terminal.text();
  const lastFrame = frame.slice(frame.lastIndexOf("a.bin"));
  const order = ["a.bin", "b.bin", "c.bin", "total"].map((name) => lastFrame.indexOf(name));
  assert.ok(
    order.every((at) => at >= 0),
    lastFrame,
  );
  assert.deepEqual(
    [...order].sort((x, y) => x - y),
    order,
    lastFrame,
  );
  assert.match(lastFrame, /total \|[^\n]*\|\s+26% 80 B\/300 B/);
});
