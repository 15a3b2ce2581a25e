// The drop-in page in headless Chromium against a real store and broker.
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { READ_RECORDS } from "@sluice/client/testing";
import { axeViolations, chromiumTier } from "@sluice/core/testing";
import type { Browser, Page, Request } from "playwright-core";
import { launch, PROFILES, row, signIn, startSite, throttleUploads } from "./test/browser.ts";
import { writePng, writeRandomFile } from "./test/files.ts";

const chromium = chromiumTier();
const MiB = 1024 * 1024;
/** 40 MiB in 5 MiB parts (the test profile's part size). */
const BIG = 40 * MiB;
const BIG_PARTS = 8;

async function settledState(page: Page, name: string, timeout = 60_000): Promise<string> {
  const settled = row(page, name).and(
    page.locator(":is([data-state=ready],[data-state=rejected],[data-state=failed])"),
  );
  await settled.waitFor({ timeout });
  return (await settled.getAttribute("data-state"))!;
}

/** Polls the page's IndexedDB resume records (uploadId and stored part count) until `done` holds. */
async function resumeRecordsUntil(
  page: Page,
  done: (records: Array<{ uploadId: string; parts: number }>) => boolean,
  timeout = 120_000,
): Promise<void> {
  const read = `(${READ_RECORDS})().then((all) => all.map((r) => ({ uploadId: r.value.uploadId, parts: Object.keys(r.value.parts).length })))`;
  for (const deadline = Date.now() + timeout; ; await page.waitForTimeout(100)) {
    const records = (await page.evaluate(read)) as Array<{ uploadId: string; parts: number }>;
    if (done(records)) return;
    if (Date.now() > deadline) throw new Error(`resume records still ${JSON.stringify(records)}`);
  }
}

/** Drops an in-page file on the drop zone, as a drag from the desktop would. */
async function dropTextFile(page: Page, name: string, text: string): Promise<void> {
  await page.evaluate(
    ([fileName, content]) => {
      const transfer = new DataTransfer();
      transfer.items.add(new File([content!], fileName!, { type: "text/plain" }));
      const zone = document.getElementById("dropzone")!;
      zone.dispatchEvent(
        new DragEvent("dragover", { dataTransfer: transfer, bubbles: true, cancelable: true }),
      );
      zone.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
    },
    [name, text],
  );
}

describe("drop-in page in Chromium", {
  skip: chromium.available ? false : chromium.reason,
  timeout: 120_000,
}, () => {
  let browser: Browser;
  before(async () => {
    if (chromium.available) browser = await launch(chromium.value);
  });
  after(() => browser?.close());

  test("three files, one of 40 MiB, dropped and picked: the bars move and every file reaches ready", async (t) => {
    const site = await startSite();
    t.after(() => site.close());
    const page = await browser.newPage();
    await signIn(page, site);
    await writePng(join(site.dir, "photo.png"), { width: 64, height: 48, rgb: [200, 80, 40] });
    await writeRandomFile(join(site.dir, "big.bin"), BIG);
    await throttleUploads(page, 16 * MiB);

    await page.setInputFiles("#picker", [join(site.dir, "photo.png"), join(site.dir, "big.bin")]);
    await dropTextFile(page, "notes.txt", "dropped from the desktop\n");

    // Sample the big file's bar until it is done: it must show values between empty and full.
    const fractions = new Set<number>();
    const big = row(page, "big.bin");
    for (let state = ""; state !== "ready"; state = (await big.getAttribute("data-state")) ?? "") {
      assert.ok(!["rejected", "failed", "cancelled"].includes(state), (await big.textContent()) ?? "");
      const bar = await big.locator("progress").evaluate((p: HTMLProgressElement) => [p.value, p.max]);
      if (bar[0]! > 0 && bar[0]! < bar[1]!) fractions.add(Math.round((bar[0]! / bar[1]!) * 100));
      await page.waitForTimeout(50);
    }
    assert.ok(fractions.size >= 3, `the bar moved through several values: ${[...fractions].join(", ")}`);

    for (const name of ["photo.png", "big.bin", "notes.txt"]) {
      assert.equal(await settledState(page, name), "ready", name);
    }
    assert.match((await big.locator(".meta").textContent()) ?? "", /40 MiB/);
    // The image gets a thumbnail from a presigned GET of itself, and it loads.
    const thumb = row(page, "photo.png").locator(".thumb img");
    await thumb.waitFor();
    await page.waitForFunction(
      (img) => (img as HTMLImageElement).naturalWidth === 64,
      await thumb.elementHandle(),
    );
    await page.close();
  });

  test("an image whose profile makes thumb-256 shows that derivative as its thumbnail", async (t) => {
    const site = await startSite({
      profiles: { default: { ...PROFILES.default, derivatives: ["thumb-256"] } },
    });
    t.after(() => site.close());
    const page = await browser.newPage();
    await signIn(page, site);
    await writePng(join(site.dir, "wide.png"), { width: 600, height: 300, rgb: [40, 120, 200] });
    await page.setInputFiles("#picker", join(site.dir, "wide.png"));
    assert.equal(await settledState(page, "wide.png"), "ready");
    const thumb = row(page, "wide.png").locator(".thumb img");
    await thumb.waitFor();
    await page.waitForFunction(
      (img) =>
        (img as HTMLImageElement).naturalWidth === 256 && (img as HTMLImageElement).naturalHeight === 256,
      await thumb.elementHandle(),
    );
    assert.match((await thumb.getAttribute("src")) ?? "", /~derivatives\/thumb-256\.webp\?/);
    await page.close();
  });

  test("a file of a forbidden type shows its rejection and the reason", async (t) => {
    const site = await startSite();
    t.after(() => site.close());
    const page = await browser.newPage();
    await signIn(page, site);
    await writeFile(join(site.dir, "page.html"), "<p>not allowed here</p>\n");
    await page.setInputFiles("#picker", join(site.dir, "page.html"));
    assert.equal(await settledState(page, "page.html"), "rejected");
    assert.match(
      (await row(page, "page.html").locator(".state").textContent()) ?? "",
      /Rejected: Type text\/html is not allowed/,
    );
    await page.close();
  });

  test("pause, resume and cancel work from the keyboard", async (t) => {
    const site = await startSite();
    t.after(() => site.close());
    const page = await browser.newPage();
    await signIn(page, site);
    for (const name of ["keep.bin", "drop.bin"]) await writeRandomFile(join(site.dir, name), 12 * MiB);
    await throttleUploads(page, 4 * MiB);
    await page.setInputFiles("#picker", [join(site.dir, "keep.bin"), join(site.dir, "drop.bin")]);
    const keep = row(page, "keep.bin");
    const press = async (button: string) => {
      await keep.page().locator(button).focus();
      await page.keyboard.press("Enter");
    };

    await keep.locator("[data-action=pause]:not([hidden])").waitFor();
    await press('li.file:has-text("keep.bin") [data-action=pause]');
    await keep.and(page.locator("[data-state=paused]")).waitFor();
    const pausedAt = await keep.locator("progress").evaluate((p: HTMLProgressElement) => p.value);
    await page.waitForTimeout(500);
    const later = await keep.locator("progress").evaluate((p: HTMLProgressElement) => p.value);
    assert.ok(later <= pausedAt, `no progress while paused (${pausedAt} → ${later})`);
    // Focus stays on the row's buttons while it updates: Resume is reachable with Tab order intact.
    await press('li.file:has-text("keep.bin") [data-action=resume]');

    await page.locator('li.file:has-text("drop.bin") [data-action=cancel]').focus();
    await page.keyboard.press("Enter");
    await row(page, "drop.bin").and(page.locator("[data-state=cancelled]")).waitFor();
    assert.equal(await settledState(page, "keep.bin"), "ready");
    await page.close();
  });

  test("a reload during the big upload resumes it: stored parts are not sent again", async (t) => {
    const site = await startSite();
    t.after(() => site.close());
    const page = await browser.newPage();
    await signIn(page, site);
    const path = join(site.dir, "big.bin");
    await writeRandomFile(path, BIG);
    await throttleUploads(page, 8 * MiB);

    const stored = new Set<number>();
    const sentAfterReload = new Set<number>();
    let reloaded = false;
    // Set once the reloaded page has loaded: until then the old page may still start parts.
    let newPage = false;
    let firstStored = () => {};
    const partStored = new Promise<void>((resolve) => {
      firstStored = resolve;
    });
    const partNumber = (url: string) => Number(new URL(url).searchParams.get("partNumber"));
    page.on("requestfinished", async (request) => {
      if (request.method() !== "PUT" || !request.url().includes("partNumber=")) return;
      if (!reloaded && (await request.response())?.status() === 200) {
        stored.add(partNumber(request.url()));
        firstStored();
      }
    });
    page.on("request", (request) => {
      if (newPage && request.method() === "PUT" && request.url().includes("partNumber=")) {
        sentAfterReload.add(partNumber(request.url()));
      }
    });

    await page.setInputFiles("#picker", path);
    const big = row(page, "big.bin");
    await page.waitForFunction(() => document.querySelector("li.file[data-file-id]") !== null);
    const uploadId = await big.getAttribute("data-file-id");
    await partStored;
    assert.ok(stored.size >= 1 && stored.size < BIG_PARTS, `parts stored before the reload: ${[...stored]}`);

    reloaded = true;
    await page.reload();
    newPage = true;
    await page.waitForSelector("#workspace:not([hidden])"); // still signed in (sessionStorage)
    await page.setInputFiles("#picker", path);
    assert.equal(await settledState(page, "big.bin"), "ready");

    assert.equal(await big.getAttribute("data-file-id"), uploadId, "the same upload was continued");
    assert.match((await big.locator(".state").textContent()) ?? "", /resumed/);
    const resent = [...sentAfterReload].filter((n) => stored.has(n));
    assert.deepEqual(resent, [], "no stored part was sent again");
    assert.ok(
      sentAfterReload.size < BIG_PARTS,
      `${sentAfterReload.size} of ${BIG_PARTS} parts sent after reload`,
    );
    await page.close();
  });

  test("after a reload an interrupted upload is a paused row with its progress; the same file resumes it there, cancel aborts", {
    timeout: 300_000,
  }, async (t) => {
    const site = await startSite();
    t.after(() => site.close());
    const page = await browser.newPage();
    await signIn(page, site);
    const names = ["big.bin", "cut.bin"];
    for (const name of names) await writeRandomFile(join(site.dir, name), BIG);
    await throttleUploads(page, 8 * MiB);

    // Parts storage acknowledged before the reload, and parts the reloaded page sent, per file.
    const stored = new Map(names.map((name) => [name, new Set<number>()]));
    const sentAfterReload = new Map(names.map((name) => [name, new Set<number>()]));
    let reloaded = false;
    // Set once the reloaded page has loaded: until then the old page may still start parts.
    let newPage = false;
    const fileOf = (url: string) => names.find((name) => new URL(url).pathname.endsWith(`/${name}`));
    const partNumber = (url: string) => Number(new URL(url).searchParams.get("partNumber"));
    const isPart = (request: Request) => request.method() === "PUT" && request.url().includes("partNumber=");
    page.on("requestfinished", async (request) => {
      if (reloaded || !isPart(request)) return;
      if ((await request.response())?.status() === 200)
        stored.get(fileOf(request.url())!)!.add(partNumber(request.url()));
    });
    page.on("request", (request) => {
      if (newPage && isPart(request))
        sentAfterReload.get(fileOf(request.url())!)!.add(partNumber(request.url()));
    });

    await page.setInputFiles(
      "#picker",
      names.map((name) => join(site.dir, name)),
    );
    for (const name of names)
      await row(page, name).and(page.locator("[data-file-id]")).waitFor({ timeout: 60_000 });
    const uploadIds = Object.fromEntries(
      await Promise.all(
        names.map(async (name) => [name, await row(page, name).getAttribute("data-file-id")]),
      ),
    );
    // Wait (on the page's own resume records) until each file has a stored part.
    await resumeRecordsUntil(page, (records) => records.length === 2 && records.every((r) => r.parts > 0));

    reloaded = true;
    await page.reload();
    newPage = true;
    await page.waitForSelector("#workspace:not([hidden])");
    for (const name of names) {
      const paused = row(page, name).and(page.locator("[data-state=paused]"));
      await paused.waitFor({ timeout: 60_000 });
      assert.equal(await paused.locator(".state").textContent(), "Paused — choose the file again to resume");
      assert.equal(await paused.getAttribute("data-file-id"), uploadIds[name]);
      const [value, max] = await paused
        .locator("progress:not([hidden])")
        .evaluate((bar: HTMLProgressElement) => [bar.value, bar.max]);
      assert.equal(max, BIG);
      assert.ok(
        value! >= 5 * MiB && value! < BIG && value! % (5 * MiB) === 0,
        `${name}: ${value} bytes done`,
      );
      assert.match((await paused.locator(".detail").textContent()) ?? "", / MiB of 40 MiB$/);
      assert.equal(
        await paused.locator("[data-action=resume]").isHidden(),
        true,
        "no Resume without the file",
      );
      assert.equal(await paused.locator("[data-action=cancel]").isVisible(), true);
    }
    assert.equal(
      await page.locator("li.file").count(),
      2,
      "each upload once, not also from the broker's list",
    );
    for (const colorScheme of ["light", "dark"] as const) {
      await page.emulateMedia({ colorScheme });
      assert.deepEqual(await axeViolations(page), [], `paused rows, ${colorScheme}`);
    }
    await page.emulateMedia({ colorScheme: "light" });

    // Cancel on a paused row aborts the upload on the broker and forgets it.
    await row(page, "cut.bin").locator("[data-action=cancel]").click();
    await row(page, "cut.bin").and(page.locator("[data-state=cancelled]")).waitFor({ timeout: 60_000 });
    await resumeRecordsUntil(page, (records) => records.length === 1);
    const cut = (await (await site.harness.api(`/v1/uploads/${uploadIds["cut.bin"]}`)).json()) as {
      state: string;
    };
    assert.equal(cut.state, "aborted");

    // The same file again: it continues in its row (the same element), with the same upload.
    const big = row(page, "big.bin");
    await big.evaluate((element: HTMLElement) => {
      element.dataset.marker = "paused row";
    });
    await page.setInputFiles("#picker", join(site.dir, "big.bin"));
    assert.equal(await settledState(page, "big.bin", 180_000), "ready");
    assert.equal(await big.getAttribute("data-marker"), "paused row", "resumed in the paused row");
    assert.equal(await big.getAttribute("data-file-id"), uploadIds["big.bin"]);
    assert.match((await big.locator(".state").textContent()) ?? "", /resumed/);
    assert.equal(await page.locator("li.file", { hasText: "big.bin" }).count(), 1, "no second row");
    const storedBefore = stored.get("big.bin")!;
    const sentAfter = sentAfterReload.get("big.bin")!;
    assert.ok(storedBefore.size >= 1 && storedBefore.size < BIG_PARTS, `stored before: ${[...storedBefore]}`);
    assert.deepEqual(
      [...sentAfter].filter((n) => storedBefore.has(n)),
      [],
      "no stored part was sent again",
    );
    assert.ok(sentAfter.size < BIG_PARTS, `${sentAfter.size} of ${BIG_PARTS} parts sent after reload`);
    assert.deepEqual([...sentAfterReload.get("cut.bin")!], [], "nothing sent for the cancelled upload");
    await page.close();
  });

  test("axe finds no violation in light or dark mode; Choose files shows a focus ring", async (t) => {
    const site = await startSite();
    t.after(() => site.close());
    for (const colorScheme of ["light", "dark"] as const) {
      const page = await browser.newPage({ colorScheme });
      await page.goto(site.harness.url);
      assert.deepEqual(await axeViolations(page), [], `sign-in page, ${colorScheme}`);
      await signIn(page, site);
      // One name per scheme: the second pass's list also shows the first pass's file.
      const name = `a11y-${colorScheme}.txt`;
      await writeFile(join(site.dir, name), "accessible\n");
      await page.setInputFiles("#picker", join(site.dir, name));
      assert.equal(await settledState(page, name), "ready");
      assert.deepEqual(await axeViolations(page), [], `file list, ${colorScheme}`);

      await page.locator("#profile").focus();
      await page.keyboard.press("Tab");
      assert.equal(await page.evaluate(() => document.activeElement?.id), "picker");
      const ring = await page
        .locator("label[for=picker]")
        .evaluate(
          (label) => `${getComputedStyle(label).outlineStyle} ${getComputedStyle(label).outlineWidth}`,
        );
      assert.equal(ring, "solid 3px", "the keyboard focus on the hidden input shows on its button");
      await page.close();
    }
  });

  test("the list shows upload times newest first and filters by name; the picker accepts the profile's types", async (t) => {
    const site = await startSite({
      profiles: {
        default: PROFILES.default,
        images: { maxSize: "1MiB", types: ["image/png", "image/webp"] },
      },
    });
    t.after(() => site.close());
    for (const name of ["report.txt", "report.txt", "other.txt"]) {
      const res = await site.harness.api("/v1/uploads", {
        method: "POST",
        json: { profile: "default", name, size: 3, type: "text/plain" },
      });
      const grant = (await res.json()) as {
        upload: { id: string };
        put: { url: string; headers: Record<string, string> };
      };
      const headers = { ...grant.put.headers };
      delete headers["content-length"];
      await fetch(grant.put.url, { method: "PUT", headers, body: "hi\n" });
      await site.harness.api(`/v1/uploads/${grant.upload.id}/complete`, { method: "POST", json: {} });
      await new Promise((r) => setTimeout(r, 20)); // distinct creation times
    }
    const page = await browser.newPage();
    await signIn(page, site);
    await page.locator("li.file").nth(2).waitFor();
    const metas = await page.locator("li.file .meta").allTextContents();
    assert.ok(
      metas.every((m) => /· \d{4}-\d\d-\d\d \d\d:\d\d$/.test(m)),
      metas.join(" | "),
    );
    const names = await page.locator("li.file .name").allTextContents();
    assert.deepEqual(names, ["other.txt", "report.txt", "report.txt"], "newest first");

    await page.fill("#filter", "REPORT");
    await page.waitForFunction(() => document.querySelectorAll("li.file").length === 2);
    await page.fill("#filter", "nothing like it");
    await page.locator("#empty:not([hidden])", { hasText: "No file matches" }).waitFor();
    await page.fill("#filter", "");

    assert.equal(
      await page.locator("#picker").getAttribute("accept"),
      "image/png,text/plain,application/octet-stream",
    );
    await page.selectOption("#profile", "images");
    assert.equal(await page.locator("#picker").getAttribute("accept"), "image/png,image/webp");
    await page.close();
  });

  test("storage refuses an origin that is not in the allowlist, and serves the page's own", async (t) => {
    const site = await startSite();
    t.after(() => site.close());
    // Another origin: the same host on another port.
    const other = createServer((_req, res) => res.end("<!doctype html><title>other</title>"));
    await new Promise<void>((resolve) => other.listen(0, "127.0.0.1", resolve));
    t.after(() => new Promise<void>((resolve) => other.close(() => resolve())));
    const otherOrigin = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
    const pageOrigin = new URL(site.harness.url).origin;

    const preflight = (origin: string) =>
      fetch(`${site.harness.storeEndpoint}/sluice/some/key`, {
        method: "OPTIONS",
        headers: {
          origin,
          "access-control-request-method": "PUT",
          "access-control-request-headers": "content-type",
        },
      });
    const refused = await preflight(otherOrigin);
    assert.equal(refused.headers.get("access-control-allow-origin"), null);
    assert.ok(refused.status >= 400, `preflight from ${otherOrigin}: ${refused.status}`);
    const allowed = await preflight(pageOrigin);
    assert.equal(allowed.status, 200);
    assert.equal(allowed.headers.get("access-control-allow-origin"), pageOrigin);

    // The same presigned PUT from a page of each origin, in Chromium.
    const grant = async (name: string) => {
      const res = await site.harness.api("/v1/uploads", {
        method: "POST",
        json: { profile: "default", name, size: 5, type: "text/plain" },
      });
      return ((await res.json()) as { put: { url: string; headers: Record<string, string> } }).put;
    };
    const tryPut = async (origin: string, put: { url: string; headers: Record<string, string> }) => {
      const page = await browser.newPage();
      await page.goto(origin);
      const outcome = await page.evaluate(async ({ url, headers }) => {
        const sent = { ...headers };
        delete sent["content-length"];
        try {
          const res = await fetch(url, { method: "PUT", headers: sent, body: "hello" });
          return `status ${res.status} etag ${res.headers.get("etag") ? "visible" : "hidden"}`;
        } catch (error) {
          return `refused: ${(error as Error).message}`;
        }
      }, put);
      await page.close();
      return outcome;
    };
    assert.match(await tryPut(otherOrigin, await grant("a.txt")), /^refused: Failed to fetch/);
    assert.equal(await tryPut(pageOrigin, await grant("b.txt")), "status 200 etag visible");
  });
});
