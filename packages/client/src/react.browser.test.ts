// useUpload rendered by real React (react-dom) in headless Chromium: the hook
// as the broker serves it (/assets/sluice-react.js), driving a real upload to
// a real broker and store.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { chromiumTier } from "@sluice/core/testing";
import { build } from "esbuild";
import { inPage, startBrowserSite, throttleUploads } from "./test/chromium.ts";

const tier = chromiumTier();
const MiB = 1024 * 1024;

/** React and react-dom/client as one ES module (one React instance), for the page's import map. */
async function reactModule(): Promise<string> {
  const names = Object.keys(createRequire(import.meta.url)("react")).filter((n) =>
    /^[A-Za-z_$][\w$]*$/.test(n),
  );
  const result = await build({
    stdin: {
      contents: `import * as React from "react";
        export default React;
        export const { ${names.join(", ")} } = React;
        export { createRoot } from "react-dom/client";`,
      resolveDir: import.meta.dirname,
    },
    bundle: true,
    format: "esm",
    platform: "browser",
    define: { "process.env.NODE_ENV": '"production"' },
    write: false,
    logLevel: "silent",
  });
  return result.outputFiles[0]!.text;
}

/** Renders an uploader component; every render's items are recorded in window.renders. */
const RENDER = `async (token, reactSource) => {
  // An import map sends the served hook bundle's bare "react" import to this React.
  const map = document.createElement("script");
  map.type = "importmap";
  map.textContent = JSON.stringify({ imports: { react: URL.createObjectURL(new Blob([reactSource], { type: "text/javascript" })) } });
  document.head.append(map);
  document.body.innerHTML = '<div id="root"></div>';
  const React = await import("react");
  const { createRoot } = React;
  const { useUpload } = await import("/assets/sluice-react.js");
  const sdk = await import("/assets/sluice-client.js");
  const client = sdk.createClient({ endpoint: location.origin, token });
  const h = React.createElement;
  window.renders = [];
  function Uploader() {
    const { items, upload, pause, resume, restoreInterrupted } = useUpload(client, { profile: "default" });
    window.renders.push(items.map((i) => ({ state: i.state, bytesSent: i.progress.bytesSent, total: i.progress.total, uploadId: i.uploadId })));
    return h("div", null,
      h("input", { type: "file", id: "picker", onChange: (e) => upload(e.target.files) }),
      h("button", { id: "restore", onClick: () => restoreInterrupted() }, "Restore"),
      h("ul", null, items.map((i) => h("li", { key: i.key, "data-state": i.state, "data-upload-id": i.uploadId ?? "", "data-needs-file": String(Boolean(i.needsFile)) },
        h("span", { className: "name" }, i.name),
        h("progress", { value: i.progress.bytesSent, max: i.progress.total }),
        h("button", { "data-action": "pause", onClick: () => pause(i.key) }, "Pause"),
        h("button", { "data-action": "resume", onClick: () => resume(i.key) }, "Resume"),
      ))),
    );
  }
  createRoot(document.getElementById("root")).render(h(Uploader));
}`;

/** A broker, a store and a tab on the broker's origin (a real loopback server, so Chromium lets it reach the store) rendering the uploader. */
async function renderUploader(t: TestContext) {
  const site = await startBrowserSite(tier.available ? tier.value : "");
  t.after(() => site.close());
  const page = await site.newPage();
  const react = await reactModule();
  await inPage(page, RENDER, site.token, react);
  return { site, page, react };
}

interface Render {
  state: string;
  bytesSent: number;
  total: number;
  uploadId?: string;
}

test("useUpload in React: progress renders while uploading, pause and resume, then ready", {
  skip: tier.available ? false : tier.reason,
  timeout: 120_000,
}, async (t) => {
  const { site, page } = await renderUploader(t);
  await throttleUploads(page, 8 * MiB);

  const size = 12 * MiB;
  await page.setInputFiles("#picker", {
    name: "react.bin",
    mimeType: "application/octet-stream",
    buffer: Buffer.alloc(size, 7),
  });
  const item = page.locator("li");
  // Pause once bytes are moving, check the hook shows it, then resume.
  await page.waitForFunction(() => Number(document.querySelector("li progress")?.getAttribute("value")) > 0);
  await item.locator("[data-action=pause]").click();
  await page.locator("li[data-state=paused]").waitFor();
  await item.locator("[data-action=resume]").click();
  await page.locator("li[data-state=ready]").waitFor({ timeout: 60_000 });

  const renders = (await page.evaluate("window.renders")) as Render[][];
  const states = renders.map((items) => items[0]?.state).filter((s, i, all) => s && s !== all[i - 1]);
  // queued and verifying may be batched away by React; the rest must render in this order.
  assert.deepEqual(
    states.filter((s) => s !== "queued" && s !== "verifying"),
    ["uploading", "paused", "uploading", "ready"],
    states.join(" → "),
  );
  const sent = renders.map((items) => items[0]?.bytesSent ?? 0);
  assert.ok(
    sent.some((n) => n > 0 && n < size),
    "renders show progress between empty and full",
  );
  const last = renders.at(-1)![0]!;
  assert.equal(last.state, "ready");
  assert.equal(last.bytesSent, size);
  assert.equal(last.total, size);
  const upload = (await (await site.harness.api(`/v1/uploads/${last.uploadId}`)).json()) as {
    upload?: { state: string; size: number };
    state?: string;
    size?: number;
  };
  const record = upload.upload ?? upload;
  assert.equal(record.state, "ready", "the broker agrees");
  assert.equal(record.size, size);
});

test("useUpload in React: an upload a reloaded page left unfinished comes back paused and continues when its file is chosen again", {
  skip: tier.available ? false : tier.reason,
  timeout: 120_000,
}, async (t) => {
  const { site, page, react } = await renderUploader(t);
  // Three parts (5, 5 and 2 MiB) sent at once, slowly: the 2 MiB one is stored by the time 7 MiB went out.
  await throttleUploads(page, 2 * MiB);
  // A file on disk: the same lastModified each time it is chosen, as a user's file has.
  const dir = await mkdtemp(join(tmpdir(), "sluice-react-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, "left.bin");
  await writeFile(file, Buffer.alloc(12 * MiB, 3));
  await page.setInputFiles("#picker", file);
  // Paused once a part is stored: that part is in the resume record the next page finds.
  await page.waitForFunction(
    (sent) => Number(document.querySelector("li progress")?.getAttribute("value")) >= sent,
    7 * MiB,
    { timeout: 60_000 },
  );
  await page.locator("li [data-action=pause]").click();
  await page.locator("li[data-state=paused]").waitFor();
  const uploadId = await page.locator("li").getAttribute("data-upload-id");
  assert.ok(uploadId);

  await page.reload();
  await inPage(page, RENDER, site.token, react);
  await page.locator("#restore").click();
  const restored = page.locator(`li[data-state=paused][data-needs-file=true][data-upload-id="${uploadId}"]`);
  await restored.waitFor({ timeout: 30_000 });
  assert.ok(Number(await restored.locator("progress").getAttribute("value")) > 0, "its stored part counts");
  await page.locator("#restore").click(); // a second restore adds nothing
  await page.setInputFiles("#picker", file);
  await page.locator("li[data-state=ready]").waitFor({ timeout: 60_000 });
  assert.equal(await page.locator("li").count(), 1, "the same item continued; none was added");
  assert.equal(await page.locator("li").getAttribute("data-upload-id"), uploadId);
});
