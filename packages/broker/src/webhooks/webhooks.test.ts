import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import pino from "pino";
import { Webhook, WebhookVerificationError } from "standardwebhooks";
import { issueApiKey } from "../auth/apiKeys.ts";
import { testDatabases } from "../test/databases.ts";
import { grant, type Harness, putBytes, startHarness } from "../test/harness.ts";
import { sweep } from "../uploads/sweeper.ts";

interface Message {
  path: string;
  headers: Record<string, string>;
  body: string;
  status: number | "hang";
}

type Reply = number | "hang";

/** A real HTTP receiver on port 0: records every request, answers what `reply` says. */
async function startReceiver() {
  const messages: Message[] = [];
  const receiver = {
    messages,
    reply: (_message: Omit<Message, "status">): Reply => 204,
    url: "",
    server: undefined as Server | undefined,
    /** Messages of a file, as the parsed payloads, in arrival order. */
    of(fileId: string) {
      return messages.filter(
        (m) => (JSON.parse(m.body) as { data: { file: { id: string } } }).data.file.id === fileId,
      );
    },
    async waitFor(test: () => boolean, what: string, ms = 15_000) {
      const deadline = Date.now() + ms;
      while (!test()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const base = {
        path: req.url ?? "",
        headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)])),
        body: Buffer.concat(chunks).toString(),
      };
      const status = receiver.reply(base);
      messages.push({ ...base, status });
      if (status === "hang") return; // never answers: the broker's timeout ends it
      res.statusCode = status;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  receiver.server = server;
  return receiver;
}

const secret = () => `whsec_${randomBytes(24).toString("base64")}`;
const typeOf = (m: { body: string }) => (JSON.parse(m.body) as { type: string }).type;
const ok = (m: Message) => typeof m.status === "number" && m.status < 300;

for (const database of testDatabases()) {
  describe(`signed webhooks from the outbox (${database.name})`, { skip: database.skip }, () => {
    let h: Harness;
    let drop: (() => Promise<void>) | undefined;
    let receiver: Awaited<ReturnType<typeof startReceiver>>;
    let serverKey: string;
    const oldSecret = secret();
    const newSecret = secret();
    const logLines: string[] = [];
    const logger = pino(
      { level: "debug" },
      new Writable({
        write(chunk, _encoding, done) {
          logLines.push(String(chunk));
          done();
        },
      }),
    );

    const readyFile = async (
      options: { metadata?: Record<string, unknown>; as?: string; type?: string; bytes?: string } = {},
    ) => {
      const data = Buffer.from(options.bytes ?? "hello, webhooks\n");
      const g = await grant(
        h,
        { name: "a.txt", size: data.length, type: options.type ?? "text/plain", metadata: options.metadata },
        options.as,
      );
      assert.equal((await putBytes(g.put, data)).status, 200);
      const done = await h.api(`/v1/uploads/${g.upload.id}/complete`, { method: "POST", as: options.as });
      return { id: g.upload.id, state: ((await done.json()) as { state: string }).state };
    };
    const server = (path: string, init: RequestInit = {}) =>
      fetch(`${h.url}${path}`, { ...init, headers: { authorization: `Bearer ${serverKey}` } });
    const deliveries = async (query = "") =>
      (
        (await (await server(`/v1/webhooks/deliveries?${query}`)).json()) as {
          deliveries: Array<{
            id: string;
            fileId: string;
            eventId: string;
            type: string;
            endpoint: string;
            state: string;
            attempts: number;
            lastStatus: number | null;
            lastError: string | null;
          }>;
        }
      ).deliveries as Array<{
        fileId: string;
        id: string;
        eventId: string;
        type: string;
        endpoint: string;
        state: string;
        attempts: number;
      }>;

    before(async () => {
      receiver = await startReceiver();
      const created = await database.create();
      drop = created.drop;
      h = await startHarness({
        databaseUrl: created.url,
        broker: { logger },
        config: {
          profiles: { default: {}, quiet: {} },
          webhooks: {
            endpoints: {
              app: {
                url: `${receiver.url}/hooks?token=url-secret-token`,
                secrets: [oldSecret, newSecret],
                profiles: ["default"],
              },
              gone: { url: `${receiver.url}/gone`, secrets: [newSecret], events: ["file.ready"] },
            },
            timeout: 0.3,
            retry: { initial: 0.05, max: 0.2, giveUpAfter: 3600 },
          },
        },
      });
      serverKey = (await issueApiKey(h.context().db, { tenant: "acme", user: "backend", scope: "server" }))
        .key;
      receiver.reply = (m) => (m.path === "/gone" ? 410 : 204);
    });
    after(async () => {
      await h?.close();
      receiver?.server?.closeAllConnections();
      receiver?.server?.close();
      await drop?.();
    });

    it("file.ready is signed per Standard Webhooks with every active secret and carries the metadata", async () => {
      const file = await readyFile({ metadata: { ticket: 9 } });
      assert.equal(file.state, "ready");
      await receiver.waitFor(
        () => receiver.of(file.id).some((m) => m.path.startsWith("/hooks") && ok(m)),
        "file.ready",
      );
      const message = receiver.of(file.id).find((m) => m.path.startsWith("/hooks"))!;
      assert.match(message.headers["webhook-id"]!, /^msg_/);
      assert.equal(message.headers["webhook-signature"]!.split(" ").length, 2, "one v1 signature per secret");
      // A receiver that knows only the old secret, or only the new one, accepts it (rotation).
      for (const key of [oldSecret, newSecret]) {
        const event = new Webhook(key).verify(message.body, message.headers) as {
          type: string;
          data: {
            tenant: string;
            file: { id: string; state: string; metadata: Record<string, unknown>; user: string };
          };
        };
        assert.equal(event.type, "file.ready");
        assert.equal(event.data.tenant, "acme");
        assert.equal(event.data.file.id, file.id);
        assert.equal(event.data.file.state, "ready");
        assert.equal(event.data.file.user, "alice");
        assert.deepEqual(event.data.file.metadata, { ticket: 9 });
      }
    });

    it("a tampered body, a wrong secret or an old timestamp fail verification", async () => {
      const message = receiver.messages.find((m) => m.path.startsWith("/hooks") && ok(m))!;
      const tampered = message.body.replace('"ticket":9', '"ticket":10');
      assert.notEqual(tampered, message.body);
      assert.throws(() => new Webhook(newSecret).verify(tampered, message.headers), WebhookVerificationError);
      assert.throws(
        () => new Webhook(secret()).verify(message.body, message.headers),
        WebhookVerificationError,
      );
      const old = { ...message.headers, "webhook-timestamp": String(Math.floor(Date.now() / 1000) - 3600) };
      assert.throws(() => new Webhook(newSecret).verify(message.body, old), WebhookVerificationError);
    });

    it("410 Gone disables the endpoint: nothing more is sent to it", async () => {
      await receiver.waitFor(() => receiver.messages.some((m) => m.path === "/gone"), "the 410");
      const before = receiver.messages.filter((m) => m.path === "/gone").length;
      const file = await readyFile();
      await receiver.waitFor(
        () => receiver.of(file.id).some((m) => m.path.startsWith("/hooks")),
        "file.ready to app",
      );
      const gone = (await deliveries(`file=${file.id}`)).find((d) => d.endpoint === "gone")!;
      for (
        let i = 0;
        i < 100 &&
        (await deliveries(`file=${file.id}`)).find((d) => d.endpoint === "gone")!.state === "pending";
        i++
      )
        await new Promise((r) => setTimeout(r, 25));
      assert.equal((await deliveries(`file=${file.id}`)).find((d) => d.id === gone.id)!.state, "failed");
      assert.equal(
        receiver.messages.filter((m) => m.path === "/gone").length,
        before,
        "no request after the 410",
      );
    });

    it("events of one file arrive in order, each retried after 500s and timeouts until acknowledged", async () => {
      let failures = 0;
      receiver.reply = (m) => {
        if (m.path === "/gone") return 410;
        if (typeOf(m) === "file.ready" && failures < 3) return failures++ === 1 ? "hang" : 500;
        return 204;
      };
      const file = await readyFile();
      const link = (await (
        await h.api(`/v1/files/${file.id}/links`, { method: "POST", json: {} })
      ).json()) as { url: string };
      assert.equal((await fetch(link.url, { redirect: "manual" })).status, 302);
      assert.equal((await h.api(`/v1/files/${file.id}`, { method: "DELETE" })).status, 204);
      await receiver.waitFor(() => receiver.of(file.id).filter(ok).length === 3, "three acknowledged events");
      const hooks = receiver.of(file.id).filter((m) => m.path.startsWith("/hooks"));
      assert.deepEqual(hooks.map(typeOf), [
        "file.ready",
        "file.ready",
        "file.ready",
        "file.ready",
        "link.used",
        "file.deleted",
      ]);
      assert.deepEqual(
        hooks.map((m) => m.status),
        [500, "hang", 500, 204, 204, 204],
      );
      assert.equal(
        new Set(hooks.slice(0, 4).map((m) => m.headers["webhook-id"])).size,
        1,
        "retries keep the webhook-id",
      );
      const log = await deliveries(`file=${file.id}`);
      const ready = log.find((d) => d.type === "file.ready" && d.endpoint === "app")!;
      assert.equal(ready.state, "delivered");
      assert.equal(ready.attempts, 4);
      const detail = (await (await server(`/v1/webhooks/deliveries/${ready.id}`)).json()) as {
        attemptLog: Array<{ status: number | null; latencyMs: number; error: string | null }>;
      };
      assert.deepEqual(
        detail.attemptLog.map((a) => a.status),
        [500, null, 500, 204],
      );
      assert.match(detail.attemptLog[1]!.error!, /no answer within 300 ms/);
      assert.ok(detail.attemptLog.every((a) => a.latencyMs >= 0));
      receiver.reply = (m) => (m.path === "/gone" ? 410 : 204);
    });

    it("file.rejected carries the reason; upload.expired comes from the sweeper; profiles filter endpoints", async () => {
      const rejected = await readyFile({ type: "image/png", bytes: "not a png at all\n" });
      assert.equal(rejected.state, "rejected");
      const g = await grant(h, { name: "late.txt", size: 3, type: "text/plain" });
      const quiet = await grant(h, { profile: "quiet", name: "q.txt", size: 3, type: "text/plain" });
      assert.ok((await sweep(h.context(), { now: Date.now() + 3600_000 })).expired >= 2);
      await receiver.waitFor(
        () => receiver.of(rejected.id).some(ok) && receiver.of(g.upload.id).some(ok),
        "rejected and expired",
      );
      const event = JSON.parse(receiver.of(rejected.id)[0]!.body) as {
        type: string;
        data: { file: { reason: string } };
      };
      assert.equal(event.type, "file.rejected");
      assert.match(event.data.file.reason, /png/i);
      assert.equal(typeOf(receiver.of(g.upload.id)[0]!), "upload.expired");
      assert.deepEqual(
        (await deliveries()).filter((d) => d.type === "upload.expired").map((d) => d.fileId),
        [g.upload.id],
        "the quiet profile's expiry is not sent to app",
      );
      assert.equal(quiet.upload.state, "pending");
    });

    it("outbox events wait while the deliverer is down and survive a restart mid-retry", async () => {
      receiver.reply = (m) => (m.path === "/gone" ? 410 : 503);
      const file = await readyFile();
      await receiver.waitFor(() => receiver.of(file.id).length >= 2, "two failed attempts");
      await h.restart({ logger, webhooks: false });
      const queued = await readyFile();
      assert.equal(queued.state, "ready", "the upload path does not wait for webhooks");
      const pending = await deliveries("state=pending");
      assert.ok(pending.some((d) => d.type === "file.ready"));
      receiver.reply = (m) => (m.path === "/gone" ? 410 : 204);
      await h.restart({ logger });
      await receiver.waitFor(
        () => receiver.of(file.id).some(ok) && receiver.of(queued.id).some(ok),
        "delivery after restart",
      );
      const ids = new Set(receiver.of(file.id).map((m) => m.headers["webhook-id"]));
      assert.equal(ids.size, 1, "the same event before and after the restart");
    });

    it("a replay sends the same event again (same webhook-id and body) as a new delivery", async () => {
      const file = await readyFile();
      await receiver.waitFor(() => receiver.of(file.id).some(ok), "file.ready");
      const original = receiver.of(file.id)[0]!;
      const delivery = (await deliveries(`file=${file.id}`)).find((d) => d.endpoint === "app")!;
      const replayed = await server(`/v1/webhooks/deliveries/${delivery.id}/replay`, { method: "POST" });
      assert.equal(replayed.status, 202);
      const fresh = (await replayed.json()) as { id: string; eventId: string };
      assert.notEqual(fresh.id, delivery.id);
      assert.equal(fresh.eventId, delivery.eventId);
      await receiver.waitFor(() => receiver.of(file.id).filter(ok).length === 2, "the replay");
      const again = receiver.of(file.id)[1]!;
      assert.equal(again.headers["webhook-id"], original.headers["webhook-id"]);
      assert.equal(again.body, original.body);
      assert.ok(new Webhook(oldSecret).verify(again.body, again.headers));
    });

    it("the delivery log is for server keys of the tenant; no secret or endpoint URL is logged", async () => {
      assert.equal((await h.api("/v1/webhooks/deliveries")).status, 403);
      const other = (
        await issueApiKey(h.context().db, { tenant: "globex", user: "backend", scope: "server" })
      ).key;
      const foreign = await fetch(`${h.url}/v1/webhooks/deliveries`, {
        headers: { authorization: `Bearer ${other}` },
      });
      assert.deepEqual(((await foreign.json()) as { deliveries: unknown[] }).deliveries, []);
      const all = (await deliveries()).map((d) => d.id);
      const paged: string[] = [];
      let cursor: string | null = "";
      while (cursor !== null) {
        const page = (await (
          await server(`/v1/webhooks/deliveries?limit=2${cursor ? `&cursor=${cursor}` : ""}`)
        ).json()) as {
          deliveries: Array<{ id: string }>;
          next: string | null;
        };
        paged.push(...page.deliveries.map((d) => d.id));
        cursor = page.next;
      }
      assert.deepEqual(paged, all, "pages of 2 give the whole log, newest first");
      const id = all[0]!;
      const refused = await fetch(`${h.url}/v1/webhooks/deliveries/${id}/replay`, {
        method: "POST",
        headers: { authorization: `Bearer ${other}` },
      });
      assert.equal(refused.status, 404);
      const text = logLines.join("");
      assert.match(text, /webhook delivery failed/);
      for (const value of [oldSecret, newSecret, oldSecret.slice(6), "url-secret-token"])
        assert.ok(!text.includes(value));
    });

    it("50 parallel hits on a 5-use link give 5 redirects and exactly 5 link.used events", async () => {
      const file = await readyFile();
      const created = await h.api(`/v1/files/${file.id}/links`, {
        method: "POST",
        json: { maxDownloads: 5 },
      });
      const link = (await created.json()) as { url: string };
      const statuses = await Promise.all(
        Array.from({ length: 50 }, () => fetch(link.url, { redirect: "manual" }).then((r) => r.status)),
      );
      assert.equal(statuses.filter((s) => s === 302).length, 5);
      await receiver.waitFor(
        () => receiver.of(file.id).filter((m) => ok(m) && typeOf(m) === "link.used").length >= 5,
        "five link.used",
      );
      const used = (await deliveries(`file=${file.id}`)).filter((d) => d.type === "link.used");
      assert.equal(used.length, 5);
      assert.equal(new Set(used.map((d) => d.eventId)).size, 5);
    });

    it("the sweeper prunes settled events after webhooks.retention, with their delivery log", async () => {
      assert.ok((await deliveries()).length > 0);
      const { prunedEvents } = await sweep(h.context(), { now: Date.now() + 31 * 86_400_000 });
      assert.ok(prunedEvents > 0);
      assert.deepEqual(await deliveries(), []);
      const { db } = h.context();
      assert.equal((await db.selectFrom("webhook_attempts").select("id").execute()).length, 0);
    });
  });
}
