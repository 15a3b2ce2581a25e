import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { EICAR } from "@sluice/core/testing";
import { grant, type Harness, putBytes, startHarness } from "../test/harness.ts";

describe("content scanners", () => {
  let h: Harness;
  const scanned: string[] = [];
  before(async () => {
    h = await startHarness({
      broker: {
        scanners: [
          async (file, open) => {
            scanned.push(file.name);
            let text = "";
            const reader = (await open()).getReader();
            for (let r = await reader.read(); !r.done; r = await reader.read())
              text += Buffer.from(r.value).toString("latin1");
            return text.includes("EICAR-STANDARD-ANTIVIRUS-TEST-FILE")
              ? "malware: EICAR test signature"
              : undefined;
          },
        ],
      },
    });
  });
  after(() => h?.close());

  async function upload(name: string, data: string) {
    const g = await grant(h, { name, size: Buffer.byteLength(data), type: "text/plain" });
    assert.equal((await putBytes(g.put, Buffer.from(data))).status, 200);
    const res = await h.api(`/v1/uploads/${g.upload.id}/complete`, { method: "POST" });
    return (await res.json()) as { state: string; reason: string | null };
  }

  it("rejects what a scanner flags, with its reason, and accepts the rest", async () => {
    const bad = await upload("eicar.txt", EICAR);
    assert.equal(bad.state, "rejected");
    assert.equal(bad.reason, "malware: EICAR test signature");
    const good = await upload("fine.txt", "nothing to see\n");
    assert.equal(good.state, "ready");
    assert.deepEqual(scanned, ["eicar.txt", "fine.txt"]);
  });
});
