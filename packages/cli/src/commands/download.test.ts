import assert from "node:assert/strict";
import { test } from "node:test";
import { safeFileName } from "./download.ts";

test("a stored name cannot steer the download outside the current directory", () => {
  assert.equal(safeFileName("report.pdf", "id"), "report.pdf");
  assert.equal(safeFileName("../../etc/passwd", "id"), "passwd");
  assert.equal(safeFileName("..\\\\..\\\\win.ini", "id"), "win.ini");
  assert.equal(safeFileName("..", "id"), "id");
  assert.equal(safeFileName("/", "id"), "id");
  assert.equal(safeFileName("a\u0000b\nc.txt", "id"), "abc.txt");
});
