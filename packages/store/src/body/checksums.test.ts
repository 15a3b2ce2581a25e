import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { Crc64Nvme } from "@aws-sdk/checksums/crc";
import { createChecksummer } from "./checksums.ts";

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
