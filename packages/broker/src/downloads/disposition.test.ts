import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { contentDisposition } from "./disposition.ts";

describe("content disposition", () => {
  it("gives an ASCII fallback and a UTF-8 filename*", () => {
    assert.equal(
      contentDisposition("résumé (1).pdf"),
      `attachment; filename="r_sum_ (1).pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%281%29.pdf`,
    );
  });

  it("cannot be broken out of with quotes or semicolons", () => {
    const header = contentDisposition('a";b=c.txt');
    assert.match(header, /^attachment; filename="a__b=c\.txt"; filename\*=UTF-8''a%22%3Bb%3Dc\.txt$/);
  });
});
