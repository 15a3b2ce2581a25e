import { createHash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import { SluiceError } from "@sluice/core";

/**
 * Passes a body through and fails at its end unless its SHA-256 equals the
 * signed x-amz-content-sha256, so a receiver that commits only after the
 * stream ends never keeps bytes the signer did not sign.
 */
export class PayloadHashCheck extends Transform {
  readonly #expectedHex: string;
  readonly #hash = createHash("sha256");

  constructor(expectedHex: string) {
    super();
    this.#expectedHex = expectedHex;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#hash.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.#hash.digest("hex") === this.#expectedHex) {
      callback();
      return;
    }
    callback(
      new SluiceError({
        code: "XAmzContentSHA256Mismatch",
        status: 400,
        message: "The provided 'x-amz-content-sha256' header does not match what was computed.",
      }),
    );
  }
}
