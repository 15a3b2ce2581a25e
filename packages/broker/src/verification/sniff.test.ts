import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { looksLikeText, sniff } from "./sniff.ts";

const PNG = Buffer.from("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489", "hex");
const PDF = Buffer.from("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "latin1");
const ELF = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), Buffer.alloc(56)]);

describe("content sniffing", () => {
  it("accepts matching magic bytes, including aliases", async () => {
    assert.deepEqual(await sniff({ bytes: PNG, declared: "image/png", truncated: false }), {
      ok: true,
      detected: "image/png",
    });
    assert.equal((await sniff({ bytes: PDF, declared: "application/pdf", truncated: false })).ok, true);
  });

  it("rejects a PNG declared as PDF, with the reason", async () => {
    const result = await sniff({ bytes: PNG, declared: "application/pdf", truncated: false });
    assert.equal(result.ok, false);
    assert.match((result as { reason: string }).reason, /image\/png.*application\/pdf/);
  });

  it("rejects an executable declared as an image or as text", async () => {
    assert.equal((await sniff({ bytes: ELF, declared: "image/jpeg", truncated: false })).ok, false);
    assert.equal((await sniff({ bytes: ELF, declared: "text/plain", truncated: false })).ok, false);
  });

  it("accepts text without magic when the bytes are text, refuses binary", async () => {
    assert.equal(
      (await sniff({ bytes: Buffer.from("héllo, wörld\n"), declared: "text/plain", truncated: false })).ok,
      true,
    );
    assert.equal(
      (await sniff({ bytes: Buffer.from('{"a":1}'), declared: "application/json", truncated: false })).ok,
      true,
    );
    assert.equal(
      (await sniff({ bytes: Buffer.from([0x00, 0x01, 0x02, 0xff]), declared: "text/csv", truncated: false }))
        .ok,
      false,
    );
  });

  it("refuses a detectable type whose magic is absent", async () => {
    assert.equal(
      (await sniff({ bytes: Buffer.from("just text"), declared: "image/png", truncated: false })).ok,
      false,
    );
  });

  it("keeps a UTF-8 character cut by the end of the sample", () => {
    const text = Buffer.from("aé");
    assert.equal(looksLikeText(text.subarray(0, 2), true), true);
    assert.equal(looksLikeText(text.subarray(0, 2), false), false);
  });
});
