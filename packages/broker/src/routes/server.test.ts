import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { issueApiKey } from "../auth/apiKeys.ts";
import { testDatabases } from "../test/databases.ts";
import { type Harness, putBytes, startHarness } from "../test/harness.ts";

interface FileJson {
  id: string;
  user: string;
  metadata: Record<string, unknown>;
  serverMetadata: Record<string, unknown>;
}

const profiles = {
  default: {},
  ticket: { metadata: { required: ["ticket"], keys: { ticket: "number", kind: "string" } } },
  avatar: { types: ["text/plain"] },
};

for (const database of testDatabases()) {
  describe(`upload metadata and the server role (${database.name})`, { skip: database.skip }, () => {
    let h: Harness;
    let drop: (() => Promise<void>) | undefined;
    let serverKey: string;
    let otherServerKey: string;
    let userKey: string;

    /** fetch with an API key (and optionally a user to act for). */
    const withKey = (
      key: string,
      path: string,
      init: RequestInit & { json?: unknown; user?: string } = {},
    ) => {
      const { json, user, ...rest } = init;
      const headers = new Headers(rest.headers);
      headers.set("authorization", `Bearer ${key}`);
      if (user) headers.set("x-sluice-user", user);
      if (json !== undefined) headers.set("content-type", "application/json");
      return fetch(`${h.url}${path}`, {
        ...rest,
        headers,
        body: json === undefined ? undefined : JSON.stringify(json),
        redirect: "manual",
      });
    };

    /** A ready file made with `grantBody`, by `as` (a bearer user) or through the server key. */
    const readyFile = async (
      grantBody: Record<string, unknown>,
      send: (path: string, init: RequestInit & { json?: unknown }) => Promise<Response>,
    ) => {
      const data = Buffer.from("hello\n");
      const res = await send("/v1/uploads", {
        method: "POST",
        json: { name: "a.txt", size: data.length, type: "text/plain", ...grantBody },
      });
      const g = (await res.json()) as {
        upload: { id: string };
        put: { url: string; headers: Record<string, string> };
      };
      assert.equal(res.status, 201, JSON.stringify(g));
      assert.equal((await putBytes(g.put, data)).status, 200);
      const done = await send(`/v1/uploads/${g.upload.id}/complete`, { method: "POST" });
      assert.equal(((await done.json()) as { state: string }).state, "ready");
      return g.upload.id;
    };
    const asUser =
      (user: string, tenant = "acme") =>
      (path: string, init: RequestInit & { json?: unknown }) =>
        h.api(path, { ...init, as: user, tenant });

    before(async () => {
      const created = await database.create();
      drop = created.drop;
      h = await startHarness({ databaseUrl: created.url, config: { profiles } });
      const db = h.context().db;
      serverKey = (await issueApiKey(db, { tenant: "acme", user: "backend", scope: "server" })).key;
      otherServerKey = (await issueApiKey(db, { tenant: "globex", user: "backend", scope: "server" })).key;
      userKey = (await issueApiKey(db, { tenant: "acme", user: "alice" })).key;
    });
    after(async () => {
      await h?.close();
      await drop?.();
    });

    it("metadata is stored with the upload and returned on the grant and the file", async () => {
      const id = await readyFile(
        { metadata: { ticket: 9, kind: "attachment", urgent: true } },
        asUser("alice"),
      );
      const file = (await (await h.api(`/v1/files/${id}`)).json()) as FileJson;
      assert.deepEqual(file.metadata, { ticket: 9, kind: "attachment", urgent: true });
      assert.deepEqual(file.serverMetadata, {});
      assert.equal(file.user, "alice");
    });

    it("refuses metadata that is nested, too large, or badly keyed with 400", async () => {
      const base = { name: "a.txt", size: 1, type: "text/plain" };
      for (const metadata of [
        { a: { b: 1 } },
        { a: [1] },
        { a: null },
        { big: "x".repeat(1000), more: "y".repeat(1000), last: "z".repeat(100) },
        { "bad key": 1 },
        "text",
      ]) {
        const res = await h.api("/v1/uploads", { method: "POST", json: { ...base, metadata } });
        assert.equal(res.status, 400, JSON.stringify(metadata));
        assert.equal(((await res.json()) as { error: { code: string } }).error.code, "ValidationError");
      }
    });

    it("checks metadata against the profile's rules with 422 (required keys, allowed keys and types)", async () => {
      const base = { profile: "ticket", name: "a.txt", size: 1, type: "text/plain" };
      const cases: Array<[unknown, number]> = [
        [undefined, 422],
        [{ kind: "x" }, 422],
        [{ ticket: "9" }, 422],
        [{ ticket: 9, other: 1 }, 422],
        [{ ticket: 9, kind: "x" }, 201],
      ];
      for (const [metadata, status] of cases) {
        const res = await h.api("/v1/uploads", { method: "POST", json: { ...base, metadata } });
        assert.equal(res.status, status, JSON.stringify(metadata));
        if (status === 422)
          assert.equal(((await res.json()) as { error: { code: string } }).error.code, "InvalidMetadata");
      }
    });

    it("serverMetadata: refused from a user (403), set by the server key on behalf of the user", async () => {
      const base = { name: "a.txt", size: 1, type: "text/plain", serverMetadata: { plan: "pro" } };
      const refused = await h.api("/v1/uploads", { method: "POST", json: base });
      assert.equal(refused.status, 403);
      assert.equal((await withKey(userKey, "/v1/uploads", { method: "POST", json: base })).status, 403);
      const id = await readyFile(
        { serverMetadata: { plan: "pro", verified: true }, metadata: { ticket: 12 } },
        (path, init) => withKey(serverKey, path, { ...init, user: "carol" }),
      );
      const file = (await (await h.api(`/v1/files/${id}`, { as: "carol" })).json()) as FileJson;
      assert.equal(file.user, "carol");
      assert.deepEqual(file.serverMetadata, { plan: "pro", verified: true });
    });

    it("GET /v1/files?metadata.ticket=9 lists only the matching files (numbers, strings, several filters)", async () => {
      const nine = await readyFile({ metadata: { ticket: 9, kind: "log" } }, asUser("dave"));
      const nineText = await readyFile({ metadata: { ticket: "9" } }, asUser("dave"));
      await readyFile({ metadata: { ticket: 10 } }, asUser("dave"));
      await readyFile({}, asUser("dave"));
      const ids = async (query: string) =>
        ((await (await h.api(`/v1/files?${query}`, { as: "dave" })).json()) as { files: FileJson[] }).files
          .map((f) => f.id)
          .sort();
      assert.deepEqual(await ids("metadata.ticket=9"), [nine, nineText].sort());
      assert.deepEqual(await ids("metadata.ticket=9&metadata.kind=log"), [nine]);
      assert.deepEqual(await ids("metadata.ticket=11"), []);
      assert.equal((await ids("")).length, 4);
      const bad = await h.api("/v1/files?metadata.bad%20key=1", { as: "dave" });
      assert.equal(bad.status, 400);
      // Another user's matching file stays invisible.
      await readyFile({ metadata: { ticket: 9 } }, asUser("erin"));
      assert.deepEqual(await ids("metadata.ticket=9"), [nine, nineText].sort());
    });

    it("a server key lists, gets and deletes any file of its tenant, and nothing of another tenant", async () => {
      const mine = await readyFile({ metadata: { ticket: 77 } }, asUser("frank"));
      const foreign = await readyFile({ metadata: { ticket: 77 } }, asUser("frank", "globex"));
      const listed = (await (await withKey(serverKey, "/v1/files?metadata.ticket=77")).json()) as {
        files: FileJson[];
      };
      assert.deepEqual(
        listed.files.map((f) => f.id),
        [mine],
      );
      const byUser = (await (await withKey(serverKey, "/v1/files?user=frank")).json()) as {
        files: FileJson[];
      };
      assert.deepEqual(
        byUser.files.map((f) => f.id),
        [mine],
      );
      assert.equal((await withKey(serverKey, "/v1/files?user=frank", { user: "frank" })).status, 200);
      assert.equal((await withKey(serverKey, `/v1/files/${mine}`)).status, 200);
      assert.equal((await withKey(serverKey, `/v1/files/${foreign}`)).status, 404);
      assert.equal((await withKey(serverKey, `/v1/files/${foreign}`, { method: "DELETE" })).status, 404);
      assert.equal(
        (await withKey(serverKey, `/v1/files/${foreign}/links`, { method: "POST", json: {} })).status,
        404,
      );
      assert.equal((await withKey(otherServerKey, `/v1/files/${mine}`)).status, 404);
      // A user key keeps its scope: ?user= is for server keys.
      assert.equal((await withKey(userKey, "/v1/files?user=frank")).status, 403);
      assert.equal((await withKey(userKey, `/v1/files/${mine}`)).status, 404);
      assert.equal((await withKey(serverKey, `/v1/files/${mine}`, { method: "DELETE" })).status, 204);
      assert.equal((await h.api(`/v1/files/${mine}`, { as: "frank" })).status, 404);
      assert.equal((await h.api(`/v1/files/${foreign}`, { as: "frank", tenant: "globex" })).status, 200);
    });

    it("only server keys act on behalf of a user; a server upload names its user", async () => {
      const body = { name: "a.txt", size: 1, type: "text/plain" };
      assert.equal((await withKey(userKey, "/v1/files", { user: "bob" })).status, 403);
      assert.equal((await h.api("/v1/files", { headers: { "x-sluice-user": "bob" } })).status, 403);
      assert.equal(
        (await h.api("/v1/uploads", { method: "POST", json: { ...body, onBehalfOf: "bob" } })).status,
        403,
      );
      const nobody = await withKey(serverKey, "/v1/uploads", { method: "POST", json: body });
      assert.equal(nobody.status, 400);
      assert.equal(((await nobody.json()) as { error: { code: string } }).error.code, "OnBehalfOfRequired");
      const id = await readyFile({ onBehalfOf: "grace" }, (path, init) => withKey(serverKey, path, init));
      assert.equal((await h.api(`/v1/files/${id}`, { as: "grace" })).status, 200);
      assert.equal((await h.api(`/v1/files/${id}`, { as: "grace", tenant: "globex" })).status, 404);
    });

    it("links: a server key creates, lists and revokes links of the tenant's files only", async () => {
      const id = await readyFile({}, asUser("heidi"));
      const created = await withKey(serverKey, `/v1/files/${id}/links`, {
        method: "POST",
        json: { maxDownloads: 2 },
      });
      assert.equal(created.status, 201);
      const link = (await created.json()) as { id: string; url: string };
      const mine = (await (await h.api(`/v1/links?file=${id}`, { as: "heidi" })).json()) as {
        links: Array<{ id: string; user: string }>;
      };
      assert.deepEqual(
        mine.links.map((l) => [l.id, l.user]),
        [[link.id, "heidi"]],
      );
      assert.deepEqual(
        ((await (await h.api(`/v1/links?file=${id}`, { as: "ivan" })).json()) as { links: unknown[] }).links,
        [],
      );
      assert.equal((await withKey(otherServerKey, `/v1/links/${link.id}`, { method: "DELETE" })).status, 404);
      assert.equal(
        ((await (await withKey(otherServerKey, `/v1/links?file=${id}`)).json()) as { links: unknown[] }).links
          .length,
        0,
      );
      assert.equal((await fetch(link.url, { redirect: "manual" })).status, 302);
      assert.equal((await withKey(serverKey, `/v1/links/${link.id}`, { method: "DELETE" })).status, 204);
      assert.equal((await fetch(link.url, { redirect: "manual" })).status, 410, "a revoked link is gone");
    });

    it("the audit log: server keys only, the tenant's entries only, paginated by cursor", async () => {
      const id = await readyFile({}, asUser("judy"));
      await readyFile({}, asUser("judy", "globex"));
      assert.equal((await h.api(`/v1/audit?subject=${id}`, { as: "judy" })).status, 403);
      assert.equal((await withKey(userKey, "/v1/audit")).status, 403);
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: Response = await withKey(
          serverKey,
          `/v1/audit?subject=${id}&limit=1${cursor ? `&cursor=${cursor}` : ""}`,
        );
        const body = (await page.json()) as {
          entries: Array<{ action: string; user: string }>;
          next: string | null;
        };
        seen.push(...body.entries.map((e) => e.action));
        for (const e of body.entries) assert.equal(e.user, "judy");
        cursor = body.next;
      } while (cursor);
      assert.deepEqual(seen.slice(0, 2), ["upload.grant", "upload.complete"]);
      assert.ok(seen.includes("upload.ready"));
      const foreign = (await (await withKey(otherServerKey, `/v1/audit?subject=${id}`)).json()) as {
        entries: unknown[];
      };
      assert.deepEqual(foreign.entries, []);
      assert.equal((await withKey(serverKey, "/v1/audit?cursor=garbage")).status, 400);
    });

    it("mints short-lived user tokens limited to profiles", async () => {
      const refused = await h.api("/v1/tokens", { method: "POST", json: { user: "kim" } });
      assert.equal(refused.status, 403);
      assert.equal(
        (
          await withKey(serverKey, "/v1/tokens", {
            method: "POST",
            json: { user: "kim", profiles: ["nope"] },
          })
        ).status,
        400,
      );
      assert.equal(
        (
          await withKey(serverKey, "/v1/tokens", {
            method: "POST",
            json: { user: "kim", expiresIn: 10 ** 6 },
          })
        ).status,
        400,
      );
      const res = await withKey(serverKey, "/v1/tokens", {
        method: "POST",
        json: { user: "kim", expiresIn: 600, profiles: ["avatar"] },
      });
      assert.equal(res.status, 201);
      const { token, expiresAt } = (await res.json()) as { token: string; expiresAt: string };
      const life = Date.parse(expiresAt) - Date.now();
      assert.ok(life > 590_000 && life <= 600_000, String(life));
      const upload = (profile: string) =>
        fetch(`${h.url}/v1/uploads`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify({ profile, name: "a.txt", size: 1, type: "text/plain" }),
        });
      assert.equal((await upload("avatar")).status, 201);
      const other = await upload("default");
      assert.equal(other.status, 403);
      assert.equal(((await other.json()) as { error: { code: string } }).error.code, "ProfileNotAllowed");
      // The token is kim's, in the server key's tenant.
      const mine = await fetch(`${h.url}/v1/files`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(mine.status, 200);
      assert.equal(
        (
          await fetch(`${h.url}/v1/tokens`, {
            method: "POST",
            headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
            body: JSON.stringify({ user: "x" }),
          })
        ).status,
        403,
      );
    });

    it("50 parallel server requests on behalf of different users each land with their user", async () => {
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          withKey(serverKey, "/v1/uploads", {
            method: "POST",
            user: `p${i}`,
            json: { name: "a.txt", size: 1, type: "text/plain", serverMetadata: { i } },
          }).then(async (res) => ({ status: res.status, body: (await res.json()) as { upload: FileJson } })),
        ),
      );
      results.forEach((r, i) => {
        assert.equal(r.status, 201);
        assert.equal(r.body.upload.user, `p${i}`);
        assert.deepEqual(r.body.upload.serverMetadata, { i });
      });
    });
  });
}
