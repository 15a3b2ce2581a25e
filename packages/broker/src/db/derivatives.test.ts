import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { testDatabases } from "../test/databases.ts";
import { deleteDerivatives, getDerivative, listDerivatives, putDerivative } from "./derivatives.ts";
import { type MetadataDb, openDatabase } from "./open.ts";
import { insertUpload } from "./uploads.ts";

async function newFile(db: MetadataDb["db"]): Promise<string> {
  const id = randomUUID();
  const now = Date.now();
  await insertUpload(db, {
    id,
    tenant: "t",
    user_id: "u",
    profile: "avatar",
    name: "a.png",
    type: "image/png",
    size: 10,
    sha256: null,
    key: `t/u/${id}/a.png`,
    method: "put",
    state: "ready",
    reason: null,
    multipart_id: null,
    part_size: null,
    part_count: null,
    etag: null,
    detected_type: "image/png",
    created_at: now,
    updated_at: now,
    expires_at: now,
    completed_at: now,
  });
  return id;
}

const thumb = (uploadId: string, size: number) => ({
  upload_id: uploadId,
  name: "thumb-256",
  key: `k/${uploadId}~derivatives/thumb-256.webp`,
  type: "image/webp",
  size,
  width: 256,
  height: 256,
  created_at: Date.now(),
});

for (const database of testDatabases()) {
  describe(`derivative records on ${database.name}`, { skip: database.skip }, () => {
    let handle: MetadataDb;
    let drop: () => Promise<void>;
    before(async () => {
      const created = await database.create();
      drop = created.drop;
      handle = await openDatabase(created.url);
    });
    after(async () => {
      await handle?.close();
      await drop?.();
    });

    it("a re-run job overwrites its row; rows list by file and go with deleteDerivatives", async () => {
      const [a, b] = [await newFile(handle.db), await newFile(handle.db)];
      await putDerivative(handle.db, thumb(a, 100));
      await putDerivative(handle.db, thumb(a, 120));
      await putDerivative(handle.db, { ...thumb(a, 50), name: "banner" });
      await putDerivative(handle.db, thumb(b, 7));
      assert.equal((await getDerivative(handle.db, { uploadId: a, name: "thumb-256" }))?.size, 120);
      assert.deepEqual(
        (await listDerivatives(handle.db, [a])).map((d) => [d.name, d.size]),
        [
          ["banner", 50],
          ["thumb-256", 120],
        ],
      );
      assert.equal((await listDerivatives(handle.db, [a, b])).length, 3);
      assert.deepEqual(await listDerivatives(handle.db, []), []);
      await deleteDerivatives(handle.db, a);
      assert.deepEqual(await listDerivatives(handle.db, [a]), []);
      assert.equal((await listDerivatives(handle.db, [b])).length, 1, "other files keep theirs");
    });
  });
}
