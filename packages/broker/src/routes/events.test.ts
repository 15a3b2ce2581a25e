import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { setupBucketEvents } from "../admin.ts";
import { getUpload } from "../db/uploads.ts";
import { PNG, postForm, settled, stored, type UploadJson } from "../test/form.ts";
import { grant, type Harness, incomingKey, putBytes, startHarness } from "../test/harness.ts";
import { completeUpload } from "../uploads/complete.ts";

const EVENTS_TOKEN = "events-token-for-tests-0123456789abcdef";

function event(key: string, bucket = "sluice") {
  return {
    Records: [
      {
        eventName: "ObjectCreated:Put",
        s3: {
          bucket: { name: bucket },
          object: { key: encodeURIComponent(key).replace(/%2F/g, "/").replace(/%20/g, "+"), size: 5 },
        },
      },
    ],
  };
}

/** Only images: a form upload of anything else is rejected at completion. */
const PROFILES = { profiles: { default: {}, avatar: { minSize: 8, maxSize: 1024, types: ["image/png"] } } };
const FORM = { form: true, redirect: "/form/done", profile: "avatar" };
const HTML = Buffer.from("<!doctype html><script>alert(1)</script>");

async function upload(h: Harness, id: string): Promise<UploadJson> {
  return (await (await h.api(`/v1/uploads/${id}`)).json()) as UploadJson;
}

async function send(h: Harness, body: unknown, token = EVENTS_TOKEN) {
  return fetch(`${h.url}/v1/events/s3`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

describe("storage event notifications", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ config: { events: { token: EVENTS_TOKEN }, ...PROFILES } });
  });
  after(() => h?.close());

  it("completes the upload from the event, idempotently with the client's call", async () => {
    const g = await grant(h, { name: "my notes.txt", size: 5, type: "text/plain" });
    assert.equal((await putBytes(g.put, Buffer.from("notes"))).status, 200);
    const res = await send(h, event(incomingKey(g.upload.key)));
    assert.deepEqual(await res.json(), { completed: 1, ignored: 0 });
    const again = await send(h, event(incomingKey(g.upload.key)));
    assert.deepEqual(await again.json(), { completed: 0, ignored: 1 });
    const client = await h.api(`/v1/uploads/${g.upload.id}/complete`, { method: "POST" });
    assert.equal(client.status, 200);
    assert.ok(["uploaded", "ready"].includes(((await client.json()) as { state: string }).state));
  });

  it("completes a form upload from the event of its incoming object, no redirect followed", async () => {
    const g = await grant(h, FORM);
    const posted = await postForm(g, PNG, "café.png");
    assert.equal(posted.status, 303, "the redirect is never followed");
    const incoming = `${g.upload.key}café.png`;
    assert.deepEqual(await (await send(h, event(incoming))).json(), { completed: 1, ignored: 0 });
    const row = await settled(h, g.upload.id);
    assert.deepEqual(
      { state: row.state, name: row.name, type: row.type, size: row.size, key: row.key },
      {
        state: "ready",
        name: "café.png",
        type: "image/png",
        size: PNG.length,
        key: `acme/alice/${g.upload.id}/café.png`,
      },
    );
    assert.ok(!(await stored(h, incoming)), "incoming/ emptied");
    // A second post with the same form names the upload no more: its event is ignored, the file stays.
    assert.equal((await postForm(g, HTML, "again.png")).status, 303);
    assert.deepEqual(await (await send(h, event(`${g.upload.key}again.png`))).json(), {
      completed: 0,
      ignored: 1,
    });
    assert.equal((await upload(h, g.upload.id)).state, "ready");
    assert.ok(!(await stored(h, `${g.upload.key}again.png`)), "the stray is deleted at once");
    // The browser's redirect arriving late changes nothing.
    const late = await h.api(`/v1/uploads/${g.upload.id}/complete`, { method: "POST" });
    assert.equal(((await late.json()) as UploadJson).key, row.key);
  });

  it("a PUT grant used again after ready: the event deletes the stray at once, the file stays", async () => {
    const g = await grant(h, { name: "once.txt", size: 5, type: "text/plain" });
    assert.equal((await putBytes(g.put, Buffer.from("first"))).status, 200);
    const done = await h.api(`/v1/uploads/${g.upload.id}/complete`, { method: "POST" });
    assert.equal(((await done.json()) as UploadJson).state, "ready");
    // Promotion emptied the quarantine key, so even a write-once grant can write it again.
    assert.equal((await putBytes(g.put, Buffer.from("again"))).status, 200);
    assert.deepEqual(await (await send(h, event(incomingKey(g.upload.key)))).json(), {
      completed: 0,
      ignored: 1,
    });
    assert.ok(!(await stored(h, incomingKey(g.upload.key))), "stray deleted");
    const dl = await h.api(`/v1/files/${g.upload.id}/download`);
    assert.equal(await (await fetch(dl.headers.get("location")!)).text(), "first");
  });

  it("rejects a form upload of a forbidden type from the event and removes it", async () => {
    const g = await grant(h, FORM);
    assert.equal((await postForm(g, HTML, "cat.html")).status, 303);
    assert.deepEqual(await (await send(h, event(`${g.upload.key}cat.html`))).json(), {
      completed: 1,
      ignored: 0,
    });
    const row = await upload(h, g.upload.id);
    assert.equal(row.state, "rejected");
    assert.equal(row.reason, "type text/html is not allowed by this profile");
    assert.ok(!(await stored(h, `${g.upload.key}cat.html`)));
  });

  it("the browser's redirect racing the event: a completion that read the row first still succeeds", async () => {
    const g = await grant(h, FORM);
    assert.equal((await postForm(g, PNG, "race.png")).status, 303);
    // Deterministic interleaving: the redirect's completion read the pending row, then the event won.
    const stale = (await getUpload(h.context().db, g.upload.id))!;
    assert.deepEqual(await (await send(h, event(`${g.upload.key}race.png`))).json(), {
      completed: 1,
      ignored: 0,
    });
    const late = await completeUpload(h.context(), { row: stale, source: "client" });
    assert.equal(late.key, `acme/alice/${g.upload.id}/race.png`);
    assert.ok(["uploaded", "ready"].includes(late.state), late.state);
  });

  it("is authenticated with its own token, not user tokens", async () => {
    assert.equal((await send(h, event("x"), "wrong-token")).status, 401);
    const userToken = await h.token();
    assert.equal((await send(h, event("x"), userToken)).status, 401);
    assert.equal((await send(h, { Records: "nope" })).status, 400);
  });

  it("ignores other buckets, unknown keys and events before the bytes exist", async () => {
    const g = await grant(h, { name: "later.txt", size: 5, type: "text/plain" });
    assert.deepEqual(await (await send(h, event(incomingKey(g.upload.key), "other"))).json(), {
      completed: 0,
      ignored: 1,
    });
    assert.deepEqual(await (await send(h, event("acme/alice/none/x.txt"))).json(), {
      completed: 0,
      ignored: 1,
    });
    assert.deepEqual(await (await send(h, event(incomingKey(g.upload.key)))).json(), {
      completed: 0,
      ignored: 1,
    });
    assert.equal(
      ((await (await h.api(`/v1/uploads/${g.upload.id}`)).json()) as { state: string }).state,
      "pending",
    );
  });
});

describe("storage events from the embedded store's webhook (signed deliveries)", () => {
  let h: Harness;
  const ARN = "arn:aws:sns:us-east-1:sluice:broker";
  before(async () => {
    // The store must know the broker's URL before the broker exists: reserve a port.
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, "127.0.0.1", () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    h = await startHarness({
      config: { server: { port }, events: { token: EVENTS_TOKEN }, ...PROFILES },
      store: {
        notificationTargets: [
          { arn: ARN, url: `http://127.0.0.1:${port}/v1/events/s3`, secret: EVENTS_TOKEN },
        ],
      },
    });
    await setupBucketEvents(h.config, { arn: ARN });
  });
  after(() => h?.close());

  it("an upload becomes ready without the client calling complete", async () => {
    const g = await grant(h, { name: "quiet client.txt", size: 6, type: "text/plain" });
    assert.equal((await putBytes(g.put, Buffer.from("quiet\n"))).status, 200);
    const deadline = Date.now() + 10_000;
    let state = "pending";
    while (state !== "ready" && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      state = ((await (await h.api(`/v1/uploads/${g.upload.id}`)).json()) as { state: string }).state;
    }
    assert.equal(state, "ready");
  });

  it("a form upload becomes ready (or rejected) with nobody calling complete", async () => {
    const png = await grant(h, FORM);
    const html = await grant(h, FORM);
    assert.equal((await postForm(png, PNG, "dot.png")).status, 303);
    assert.equal((await postForm(html, HTML, "page.html")).status, 303);
    const ready = await settled(h, png.upload.id);
    assert.equal(ready.state, "ready");
    assert.equal(ready.name, "dot.png");
    assert.equal(ready.type, "image/png");
    const rejected = await settled(h, html.upload.id);
    assert.equal(rejected.state, "rejected");
    assert.equal(rejected.reason, "type text/html is not allowed by this profile");
  });

  it("refuses a signature made with another secret or for another body", async () => {
    const body = JSON.stringify({ Records: [] });
    const t = Math.floor(Date.now() / 1000);
    const sign = (secret: string, text: string) =>
      `t=${t},v1=${createHmac("sha256", secret).update(`${t}.${text}`).digest("hex")}`;
    const post = (signature: string) =>
      fetch(`${h.url}/v1/events/s3`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-sluice-signature": signature },
        body,
      });
    assert.equal((await post(sign(EVENTS_TOKEN, body))).status, 200);
    assert.equal((await post(sign("another-secret-another-secret-00", body))).status, 401);
    assert.equal((await post(sign(EVENTS_TOKEN, `${body} `))).status, 401);
    assert.equal((await post("t=1,v1=00")).status, 401);
  });
});
