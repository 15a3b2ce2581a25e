import assert from "node:assert/strict";
import { it } from "node:test";
import { describeOnEachDatabase, uploadRow } from "../test/databases.ts";
import { deleteDerivatives, getDerivative, listDerivatives, putDerivative } from "./derivatives.ts";
import type { MetadataDb } from "./open.ts";
import { insertUpload } from "./uploads.ts";

async function newFile(db: MetadataDb["db"]): Promise<string> {
  const row = uploadRow({
    profile: "avatar",
    name: "a.png",
    type: "image/png",
    size: 10,
    state: "ready",
    detected_type: "image/png",
  });
  await insertUpload(db, row);
  return row.id;
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

describeOnEachDatabase("derivative records", (handle) => {
  it("a re-run job overwrites its row; rows list by file and go with deleteDerivatives", async () => {
    const [a, b] = [await newFile(handle().db), await newFile(handle().db)];
    await putDerivative(handle().db, thumb(a, 100));
    await putDerivative(handle().db, thumb(a, 120));
    await putDerivative(handle().db, { ...thumb(a, 50), name: "banner" });
    await putDerivative(handle().db, thumb(b, 7));
    assert.equal((await getDerivative(handle().db, { uploadId: a, name: "thumb-256" }))?.size, 120);
    assert.deepEqual(
      (await listDerivatives(handle().db, [a])).map((d) => [d.name, d.size]),
      [
        ["banner", 50],
        ["thumb-256", 120],
      ],
    );
    assert.equal((await listDerivatives(handle().db, [a, b])).length, 3);
    assert.deepEqual(await listDerivatives(handle().db, []), []);
    await deleteDerivatives(handle().db, a);
    assert.deepEqual(await listDerivatives(handle().db, [a]), []);
    assert.equal((await listDerivatives(handle().db, [b])).length, 1, "other files keep theirs");
  });
});
