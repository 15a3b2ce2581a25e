import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  type ClamdServer,
  clamdTier,
  EICAR,
  eicarSignature,
  eicarZip,
  startClamd,
  zipTier,
} from "@sluice/core/testing";
import { ClamdUnavailable, clamdScan } from "./clamd.ts";

const clamd = clamdTier();
const zip = zipTier();

/** A file only the test's .hdb signature knows (by MD5 and size). */
const HASHED = Buffer.from("a file the hdb signature names by its md5\n");
/** Bytes the test's own .ndb hex signature matches at any offset. */
const MARKER = "sluice-custom-marker-7f3a";

async function* chunks(...parts: Array<string | Uint8Array>): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield typeof part === "string" ? Buffer.from(part) : part;
}

describe("clamd INSTREAM client", { skip: clamd.available ? false : clamd.reason }, () => {
  let server: ClamdServer;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "sluice-clamd-test-"));
    const md5 = createHash("md5").update(HASHED).digest("hex");
    server = await startClamd({
      binary: (clamd as { value: string }).value,
      streamMaxLength: "1M",
      signatures: {
        "eicar.ndb": eicarSignature(),
        "custom.ndb": `Sluice.Test.Marker:0:*:${Buffer.from(MARKER).toString("hex")}\n`,
        "custom.hdb": `${md5}:${HASHED.length}:Sluice.Test.Hashed\n`,
      },
    });
  });
  after(async () => {
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  const tcp = () => ({ host: server.host, port: server.port });

  it("clean bytes are clean, over TCP and over the unix socket", async () => {
    const body = () => chunks("hello ", randomBytes(200_000), " world");
    assert.deepEqual(await clamdScan({ address: tcp(), body: body(), timeoutMs: 10_000 }), {
      result: "clean",
    });
    assert.deepEqual(
      await clamdScan({ address: { socket: server.socket }, body: body(), timeoutMs: 10_000 }),
      {
        result: "clean",
      },
    );
  });

  it("EICAR is found with its signature name, even split across chunks", async () => {
    const verdict = await clamdScan({
      address: tcp(),
      body: chunks(EICAR.slice(0, 20), EICAR.slice(20)),
      timeoutMs: 10_000,
    });
    assert.deepEqual(verdict, { result: "infected", signature: "Sluice.Test.EICAR.UNOFFICIAL" });
  });

  it("EICAR inside a zip archive is found", { skip: zip.available ? false : zip.reason }, async () => {
    const archive = eicarZip(dir);
    assert.ok(!archive.includes(Buffer.from("EICAR-STANDARD")), "the test string is compressed in the zip");
    const verdict = await clamdScan({ address: tcp(), body: chunks(archive), timeoutMs: 10_000 });
    assert.deepEqual(verdict, { result: "infected", signature: "Sluice.Test.EICAR.UNOFFICIAL" });
  });

  it("the custom .hdb (MD5) and .ndb (hex) signatures are found (clamd marks unsigned databases UNOFFICIAL)", async () => {
    assert.deepEqual(await clamdScan({ address: tcp(), body: chunks(HASHED), timeoutMs: 10_000 }), {
      result: "infected",
      signature: "Sluice.Test.Hashed.UNOFFICIAL",
    });
    const marked = chunks(randomBytes(5000), `..${MARKER}..`, randomBytes(5000));
    assert.deepEqual(await clamdScan({ address: tcp(), body: marked, timeoutMs: 10_000 }), {
      result: "infected",
      signature: "Sluice.Test.Marker.UNOFFICIAL",
    });
  });

  it("a stream longer than clamd's StreamMaxLength is too-large, and the source is not read to the end", async () => {
    let read = 0;
    async function* big(): AsyncGenerator<Uint8Array> {
      const block = randomBytes(64 * 1024);
      for (let i = 0; i < 1024; i++) {
        read += block.length;
        yield block;
      }
    }
    // clamd answers "size limit exceeded" and closes; when the close resets the connection
    // first, the reply is lost and the scan fails as unavailable, naming the likely cause.
    const outcome = await clamdScan({ address: tcp(), body: big(), timeoutMs: 10_000 }).catch(
      (error: Error) => error,
    );
    if (outcome instanceof Error) {
      assert.ok(outcome instanceof ClamdUnavailable);
      assert.match(outcome.message, /StreamMaxLength/);
    } else assert.deepEqual(outcome, { result: "too-large" });
    assert.ok(read < 16 * 1024 * 1024, `read ${read} bytes of 64 MiB`);
  });

  it("nothing listening, or a server that never answers, is ClamdUnavailable", async () => {
    await assert.rejects(
      clamdScan({ address: { socket: join(dir, "missing.sock") }, body: chunks("x"), timeoutMs: 2000 }),
      ClamdUnavailable,
    );
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as { port: number };
    try {
      await assert.rejects(
        clamdScan({ address: { host: "127.0.0.1", port }, body: chunks("x"), timeoutMs: 300 }),
        (error: Error) => error instanceof ClamdUnavailable && /timed out/.test(error.message),
      );
      await assert.rejects(
        clamdScan({ address: { socket: join(dir, "missing.sock") }, body: chunks("x"), timeoutMs: 300 }),
        (error: Error) => error.message === "clamd unreachable (ENOENT)" && !error.message.includes(dir),
      );
    } finally {
      silent.close();
    }
  });
});
