// Runs the README's "Integrate with your app" code verbatim as the application:
// a browser-side upload with the token it mints ends up as a row in its
// database, written by its webhook handler.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { createApiKey } from "@sluice/broker";
import { type Harness, putBytes, startHarness } from "@sluice/broker/testing";
import Database from "better-sqlite3";

const README = fileURLToPath(new URL("../../../README.md", import.meta.url));

/** The TypeScript block of the README section `title`. */
export function readmeBlock(title: string): string {
  const text = readFileSync(README, "utf8");
  const section = text.slice(text.indexOf(`## ${title}\n`));
  const match = /```ts\n([\s\S]*?)```/.exec(section);
  if (!match) throw new Error(`no ts block under ## ${title}`);
  return match[1]!;
}

describe("README: Integrate with your app", () => {
  let h: Harness;
  let dir: string;
  let app: ChildProcess | undefined;
  let appUrl: string;
  let forwarder: Server;
  const webhookSecret = `whsec_${randomBytes(24).toString("base64")}`;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "sluice-readme-"));
    // The broker is configured before the app has a port: a forwarder on port 0 stands in for it.
    forwarder = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const answer = await fetch(`${appUrl}${req.url}`, {
        method: req.method,
        headers: req.headers as Record<string, string>,
        body: Buffer.concat(chunks),
      });
      res.writeHead(answer.status);
      res.end(Buffer.from(await answer.arrayBuffer()));
    });
    await new Promise<void>((resolve) => forwarder.listen(0, "127.0.0.1", resolve));
    const port = (forwarder.address() as AddressInfo).port;
    h = await startHarness({
      config: {
        profiles: { attachment: { maxSize: "10MB", metadata: { required: ["ticket"] } } },
        webhooks: {
          endpoints: { app: { url: `http://127.0.0.1:${port}/webhooks/sluice`, secrets: [webhookSecret] } },
        },
      },
    });
    const { key } = await createApiKey(h.config, { tenant: "acme", user: "backend", scope: "server" });
    // Verbatim, as a file of this package so its imports resolve as they would in an app.
    const file = fileURLToPath(
      new URL(`./.readme-app-${randomBytes(4).toString("hex")}.ts`, import.meta.url),
    );
    writeFileSync(file, readmeBlock("Integrate with your app"));
    app = spawn(process.execPath, ["--import", "tsx", file], {
      env: {
        ...process.env,
        SLUICE_URL: h.url,
        SLUICE_SERVER_KEY: key,
        SLUICE_WEBHOOK_SECRET: webhookSecret,
        APP_DB: join(dir, "app.db"),
        PORT: "0",
      },
      stdio: ["ignore", "pipe", "inherit"],
    });
    app.on("exit", () => rmSync(file, { force: true }));
    appUrl = await new Promise<string>((resolve, reject) => {
      let out = "";
      app!.stdout!.on("data", (chunk: Buffer) => {
        out += chunk;
        const port = /app on (\d+)/.exec(out)?.[1];
        if (port) resolve(`http://127.0.0.1:${port}`);
      });
      app!.on("exit", (code) => reject(new Error(`the README app exited (${code}): ${out}`)));
    });
  });
  after(async () => {
    app?.kill();
    forwarder?.close();
    await h?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a browser upload with the app's token and metadata is recorded by the app's file.ready handler", async () => {
    const { token } = (await (await fetch(`${appUrl}/upload-token`, { method: "POST" })).json()) as {
      token: string;
    };
    const data = Buffer.from("ticket attachment\n");
    const call = (path: string, body: unknown) =>
      fetch(`${h.url}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const res = await call("/v1/uploads", {
      profile: "attachment",
      name: "log.txt",
      size: data.length,
      type: "text/plain",
      metadata: { ticket: 9 },
    });
    assert.equal(res.status, 201);
    const g = (await res.json()) as {
      upload: { id: string };
      put: { url: string; headers: Record<string, string> };
    };
    assert.equal((await putBytes(g.put, data)).status, 200);
    assert.equal(
      ((await (await call(`/v1/uploads/${g.upload.id}/complete`, {})).json()) as { state: string }).state,
      "ready",
    );

    const db = new Database(join(dir, "app.db"), { readonly: true });
    try {
      const deadline = Date.now() + 15_000;
      const find = () => db.prepare("SELECT * FROM attachments WHERE file_id = ?").get(g.upload.id);
      while (!find() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const row = find();
      assert.deepEqual(row, { file_id: g.upload.id, ticket: 9, name: "log.txt" });
    } finally {
      db.close();
    }
    // A request that is not signed by the broker is refused by the handler.
    const forged = await fetch(`${appUrl}/webhooks/sluice`, { method: "POST", body: "{}" });
    assert.equal(forged.status, 401);
  });
});
