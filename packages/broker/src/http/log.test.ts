import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import pino from "pino";
import { grant, type Harness, putBytes, startHarness, TEST_SECRET } from "../test/harness.ts";

describe("logs", () => {
  let h: Harness;
  const lines: string[] = [];
  before(async () => {
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    h = await startHarness({ broker: { logger: pino({ level: "trace" }, sink) } });
  });
  after(() => h?.close());

  it("are JSON lines without tokens, signatures, link tokens or storage secrets", async () => {
    const token = await h.token();
    const g = await grant(h, { name: "a.txt", size: 2, type: "text/plain" });
    await putBytes(g.put, Buffer.from("ok"));
    await h.api(`/v1/uploads/${g.upload.id}/complete`, { method: "POST" });
    const link = (await (
      await h.api(`/v1/files/${g.upload.id}/links`, { method: "POST", json: {} })
    ).json()) as { url: string };
    await fetch(link.url, { redirect: "manual" });
    await fetch(`${h.url}/v1/files`, { headers: { authorization: "Bearer forged.token.value" } });
    const text = lines.join("");
    assert.ok(lines.length >= 5, `only ${lines.length} log lines: ${lines.join("")}`);
    for (const line of lines) JSON.parse(line);
    const linkToken = link.url.split("/l/")[1]!;
    for (const secret of [
      token,
      TEST_SECRET,
      linkToken,
      h.config.storage.secretAccessKey!,
      "X-Amz-Signature",
      "forged.token.value",
    ]) {
      assert.ok(!text.includes(secret), `log leaks ${secret.slice(0, 12)}…`);
    }
    assert.match(text, /"route":"\/l\/:token"/);
  });
});
