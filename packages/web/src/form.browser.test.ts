// The plain upload form in headless Chromium with JavaScript turned off,
// against a real store and broker.
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { chromiumTier } from "@sluice/core/testing";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { launch, type Site, startSite } from "./test/browser.ts";
import { writePng } from "./test/files.ts";

const chromium = chromiumTier();
const PROFILES = { default: { maxSize: "64KiB", types: ["image/png"] } };
/** Where to write screenshots while developing (never into git): SLUICE_SCREENSHOTS=/tmp/shots. */
const SHOTS = process.env.SLUICE_SCREENSHOTS;

async function shot(page: Page, name: string): Promise<void> {
  if (SHOTS) await page.screenshot({ path: join(SHOTS, `form-${name}.png`), fullPage: true });
}

/** A phone-sized context without JavaScript, signed in through the sign-in form. */
async function signedIn(browser: Browser, site: Site): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({
    javaScriptEnabled: false,
    viewport: { width: 375, height: 740 },
  });
  const page = await context.newPage();
  await page.goto(`${site.harness.url}/form`);
  await shot(page, "signin");
  await page.getByLabel("Access token (API key or JWT)").fill(await site.harness.token());
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(`${site.harness.url}/form`);
  await page.getByLabel(/^File/).waitFor();
  return { context, page };
}

/** Picks a file and submits the form; resolves on the page storage redirected to (or its error page). */
async function upload(page: Page, path: string): Promise<void> {
  await page.getByLabel(/^File/).setInputFiles(path);
  await Promise.all([page.waitForLoadState("load"), page.getByRole("button", { name: "Upload" }).click()]);
  await page.waitForLoadState("load");
}

describe("plain upload form without JavaScript", {
  skip: chromium.available ? false : chromium.reason,
  timeout: 120_000,
}, () => {
  let browser: Browser;
  let site: Site;
  before(async () => {
    if (!chromium.available) return;
    browser = await launch(chromium.value);
    site = await startSite({ profiles: PROFILES });
  });
  after(async () => {
    await browser?.close();
    await site?.close();
  });

  test("sign in, pick a file, submit: storage redirects back and the page shows it ready", async (t) => {
    const { context, page } = await signedIn(browser, site);
    t.after(() => context.close());
    assert.equal(await page.locator("script").count(), 0, "no script on the page");
    const form = page.locator("form[enctype='multipart/form-data']");
    assert.equal(
      new URL((await form.getAttribute("action"))!).origin,
      new URL(site.harness.storeEndpoint).origin,
    );
    assert.equal(await form.locator("input").last().getAttribute("name"), "file", "the file field is last");
    await shot(page, "form");

    const path = join(site.dir, "Holiday photo.png");
    await writePng(path, { width: 32, height: 24, rgb: [20, 120, 200] });
    await upload(page, path);
    assert.match(page.url(), /\/form\/done\?upload=[0-9a-f-]{36}&bucket=/);
    for (let i = 0; i < 10 && (await page.locator(".state").textContent()) !== "ready"; i++) {
      await page.waitForTimeout(300);
      await page.reload();
    }
    await shot(page, "ready");
    assert.equal(await page.locator(".state").textContent(), "ready");
    assert.equal(await page.locator(".name").textContent(), "Holiday photo.png");

    // The download link works with the session cookie alone.
    const href = await page.getByRole("link", { name: /^Download/ }).getAttribute("href");
    const download = await context.request.get(new URL(href!, site.harness.url).href);
    assert.equal(download.status(), 200);
    assert.deepEqual(Buffer.from(await download.body()), await readFile(path));
  });

  test("a file over the profile's maximum is refused by storage; nothing is stored", async (t) => {
    const { context, page } = await signedIn(browser, site);
    t.after(() => context.close());
    const id = await page.locator("input[name='x-amz-meta-upload-id']").getAttribute("value");
    const path = join(site.dir, "big.png");
    await writeFile(path, Buffer.alloc(64 * 1024 + 1, 7));
    await upload(page, path);
    await shot(page, "too-large");
    assert.match((await page.content()) ?? "", /EntityTooLarge/);
    // Storage holds nothing for the form, so the broker has nothing to complete.
    const done = await context.request.get(`${site.harness.url}/form/done?upload=${id}`);
    assert.equal(done.status(), 409);
    const upload_ = await site.harness.api(`/v1/uploads/${id}`);
    assert.equal(((await upload_.json()) as { state: string }).state, "pending");
  });

  test("a file of a forbidden type ends rejected, with the reason on the page", async (t) => {
    const { context, page } = await signedIn(browser, site);
    t.after(() => context.close());
    const path = join(site.dir, "invoice.html");
    await writeFile(path, "<!doctype html><title>x</title><script>alert(document.cookie)</script>");
    await upload(page, path);
    await shot(page, "rejected");
    assert.equal(await page.locator(".state").textContent(), "rejected");
    assert.equal(
      await page.locator(".reason").textContent(),
      "type text/html is not allowed by this profile",
    );
  });

  test("the form's fields sent with another owner's key prefix are refused by storage", async (t) => {
    const { context, page } = await signedIn(browser, site);
    t.after(() => context.close());
    const action = (await page.locator("form[enctype='multipart/form-data']").getAttribute("action"))!;
    const fields: Record<string, string> = {};
    for (const input of await page.locator("input[type=hidden]").all()) {
      fields[(await input.getAttribute("name"))!] = (await input.getAttribute("value"))!;
    }
    assert.match(fields.key!, /^acme\/alice\/[0-9a-f-]{36}\/incoming\/\$\{filename\}$/);
    const png = join(site.dir, "x.png");
    await writePng(png, { width: 2, height: 2, rgb: [0, 0, 0] });
    for (const key of [
      fields.key!.replace("acme/alice/", "acme/bob/"),
      fields.key!.replace("acme/", "other/"),
    ]) {
      const body = new FormData();
      for (const [name, value] of Object.entries({ ...fields, key })) body.append(name, value);
      body.append("file", new Blob([await readFile(png)]), "x.png");
      const res = await fetch(action, { method: "POST", body, redirect: "manual" });
      assert.equal(res.status, 403, key);
      assert.match(await res.text(), /AccessDenied/);
    }
  });
});
