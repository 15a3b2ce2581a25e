// Queries on image derivatives. Reads go through the file's id; callers check
// the file's ownership first (getOwnedUpload).
import type { Kysely } from "kysely";
import type { Database, DerivativeRow } from "./schema.ts";

/** Records a derivative; a re-run job (after a crash) overwrites the same row. */
export async function putDerivative(db: Kysely<Database>, row: DerivativeRow): Promise<void> {
  await db
    .insertInto("derivatives")
    .values(row)
    .onConflict((oc) =>
      oc.columns(["upload_id", "name"]).doUpdateSet({
        key: row.key,
        type: row.type,
        size: row.size,
        width: row.width,
        height: row.height,
        created_at: row.created_at,
      }),
    )
    .execute();
}

export async function listDerivatives(db: Kysely<Database>, uploadIds: string[]): Promise<DerivativeRow[]> {
  if (uploadIds.length === 0) return [];
  return db
    .selectFrom("derivatives")
    .selectAll()
    .where("upload_id", "in", uploadIds)
    .orderBy("upload_id")
    .orderBy("name")
    .execute();
}

export async function getDerivative(
  db: Kysely<Database>,
  options: { uploadId: string; name: string },
): Promise<DerivativeRow | undefined> {
  return db
    .selectFrom("derivatives")
    .selectAll()
    .where("upload_id", "=", options.uploadId)
    .where("name", "=", options.name)
    .executeTakeFirst();
}

export async function deleteDerivatives(db: Kysely<Database>, uploadId: string): Promise<void> {
  await db.deleteFrom("derivatives").where("upload_id", "=", uploadId).execute();
}
