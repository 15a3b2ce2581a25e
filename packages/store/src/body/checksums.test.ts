import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { Crc64Nvme } from "@aws-sdk/checksums/crc";
import { combineCrcs, createChecksummer } from "./checksums.ts";

test("CRC64NVME matches the AWS SDK's own (@aws-sdk/checksums) on random inputs split at random points", async () => {
  for (let round = 0; round < 50; round++) {
    const data = randomBytes(Math.floor(Math.random() * 5000));
    const sdk = new Crc64Nvme();
    sdk.update(data);
    const ours = createChecksummer("crc64nvme");
    const cut = Math.floor(Math.random() * (data.length + 1));
    ours.update(data.subarray(0, cut));
    ours.update(data.subarray(cut));
    assert.equal(ours.digest(), Buffer.from(await sdk.digest()).toString("base64"), `length ${data.length}`);
  }
  // The check value of CRC-64/NVME ("123456789" → ae8b14860a799888).
  const check = createChecksummer("crc64nvme");
  check.update(Buffer.from("123456789"));
  assert.equal(Buffer.from(check.digest(), "base64").toString("hex"), "ae8b14860a799888");
});

test("combineCrcs: the CRC of parts joined equals the CRC of the whole (CRC32, CRC32C, CRC64NVME)", () => {
  for (const algorithm of ["crc32", "crc32c", "crc64nvme"] as const) {
    for (let round = 0; round < 20; round++) {
      const parts = Array.from({ length: 1 + Math.floor(Math.random() * 4) }, () =>
        randomBytes(Math.floor(Math.random() * 3000)),
      );
      const whole = createChecksummer(algorithm);
      const crcs = parts.map((part) => {
        whole.update(part);
        const one = createChecksummer(algorithm);
        one.update(part);
        return { crc: one.digest(), size: part.length };
      });
      assert.equal(combineCrcs(algorithm, crcs), whole.digest(), algorithm);
    }
  }
});
