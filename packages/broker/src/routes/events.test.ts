import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { grant, type Harness, putBytes, startHarness } from "../test/harness.ts";

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
    h = await startHarness({ config: { events: { token: EVENTS_TOKEN } } });
  });
  after(() => h?.close());

  it("completes the upload from the event, idempotently with the client's call", async () => {
    const g = await grant(h, { name: "my notes.txt", size: 5, type: "text/plain" });
    assert.equal((await putBytes(g.put, Buffer.from("notes"))).status, 200);
    const res = await send(h, event(g.upload.key));
    assert.deepEqual(await res.json(), { completed: 1, ignored: 0 });
    const again = await send(h, event(g.upload.key));
    assert.deepEqual(await again.json(), { completed: 0, ignored: 1 });
    const client = await h.api(`/v1/uploads/${g.upload.id}/complete`, { method: "POST" });
    assert.equal(client.status, 200);
    assert.ok(["uploaded", "ready"].includes(((await client.json()) as { state: string }).state));
  });

  it("is authenticated with its own token, not user tokens", async () => {
    assert.equal((await send(h, event("x"), "wrong-token")).status, 401);
    const userToken = await h.token();
    assert.equal((await send(h, event("x"), userToken)).status, 401);
    assert.equal((await send(h, { Records: "nope" })).status, 400);
  });

  it("ignores other buckets, unknown keys and events before the bytes exist", async () => {
    const g = await grant(h, { name: "later.txt", size: 5, type: "text/plain" });
    assert.deepEqual(await (await send(h, event(g.upload.key, "other"))).json(), {
      completed: 0,
      ignored: 1,
    });
    assert.deepEqual(await (await send(h, event("acme/alice/none/x.txt"))).json(), {
      completed: 0,
      ignored: 1,
    });
    assert.deepEqual(await (await send(h, event(g.upload.key))).json(), { completed: 0, ignored: 1 });
    assert.equal(
      ((await (await h.api(`/v1/uploads/${g.upload.id}`)).json()) as { state: string }).state,
      "pending",
    );
  });
});
