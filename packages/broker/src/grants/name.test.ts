import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { keyName, keySegment, normaliseName } from "./name.ts";

describe("file names", () => {
  it("keeps only the last path segment and strips controls and leading dots", () => {
    assert.equal(normaliseName("../../etc/passwd"), "passwd");
    assert.equal(normaliseName("C:\\Users\\me\\secret.txt"), "secret.txt");
    assert.equal(normaliseName("a\u0000b\u001fc\u007f.txt"), "abc.txt");
    assert.equal(normaliseName(".htaccess"), "htaccess");
    assert.equal(normaliseName(".."), "file");
    assert.equal(normaliseName("dir/"), "file");
    assert.equal(normaliseName("   "), "file");
  });

  it("normalises to NFC and removes bidi overrides that disguise extensions", () => {
    assert.equal(normaliseName("e\u0301.txt"), "\u00e9.txt");
    assert.equal(normaliseName("invoice\u202Efdp.exe"), "invoicefdp.exe");
  });

  it("removes every bidi mark, embedding, override and isolate, and zero-width characters", () => {
    const invisible = [
      "\u200E",
      "\u200F",
      "\u061C", // LRM, RLM, ALM
      "\u202A",
      "\u202B",
      "\u202C",
      "\u202D",
      "\u202E", // embeddings, overrides, PDF
      "\u2066",
      "\u2067",
      "\u2068",
      "\u2069", // isolates
      "\u200B",
      "\u200C",
      "\u200D",
      "\u2060",
      "\uFEFF",
      "\u00AD", // zero-width, BOM, soft hyphen
      "\u2028",
      "\u2029",
    ];
    for (const char of invisible) {
      assert.equal(
        normaliseName(`evil${char}fdp.exe`),
        "evilfdp.exe",
        `U+${char.codePointAt(0)!.toString(16)}`,
      );
    }
    assert.equal(normaliseName("evil\u202Efdp\u202C\u200E.exe"), "evilfdp.exe");
    assert.equal(normaliseName("\u2067\u200B"), "file", "nothing visible left");
    assert.equal(normaliseName("café ☕.txt"), "café ☕.txt", "visible characters stay");
  });

  it("caps the length at 200 UTF-8 bytes, keeping the extension and whole characters", () => {
    const name = normaliseName(`${"é".repeat(300)}.pdf`);
    assert.ok(Buffer.byteLength(name) <= 200);
    assert.ok(name.endsWith(".pdf"));
    assert.ok(!name.includes("\ufffd"));
  });

  it("makes key-safe names and tenant segments", () => {
    assert.equal(keyName("my report (1).pdf"), "my_report_(1).pdf");
    assert.equal(keyName("résumé?.pdf"), "résumé_.pdf");
    assert.equal(keySegment("acme"), "acme");
    assert.equal(keySegment("auth0|123"), `~${Buffer.from("auth0|123").toString("base64url")}`);
    assert.equal(keySegment(".."), `~${Buffer.from("..").toString("base64url")}`);
  });
});
