// Queries on pipeline checks: one row per step of an upload's pipeline, so the
// file record shows which step it is at and why it is not ready yet.
import type { Kysely } from "kysely";
import type { CheckRow, CheckStatus, Database } from "./schema.ts";

/** The upload's pipeline, in order (a re-run keeps the rows it finds). */
export async function insertChecks(
  db: Kysely<Database>,
  uploadId: string,
  checks: Array<{ step: string; status: CheckStatus; detail?: string }>,
): Promise<void> {
  if (checks.length === 0) return;
  const now = Date.now();
  await db
    .insertInto("checks")
    .values(
      checks.map((check, position) => {
        const done = check.status !== "queued";
        return {
          upload_id: uploadId,
          step: check.step,
          position,
          status: check.status,
          ms: null,
          detail: check.detail ?? null,
          started_at: done ? now : null,
          finished_at: done ? now : null,
        };
      }),
    )
    .onConflict((oc) => oc.columns(["upload_id", "step"]).doNothing())
    .execute();
}

/** Checks of these uploads, each upload's in pipeline order (one query for a page of files). */
export async function listChecks(db: Kysely<Database>, uploadIds: string[]): Promise<CheckRow[]> {
  if (uploadIds.length === 0) return [];
  return db
    .selectFrom("checks")
    .selectAll()
    .where("upload_id", "in", uploadIds)
    .orderBy("upload_id")
    .orderBy("position")
    .execute();
}

export async function updateCheck(
  db: Kysely<Database>,
  options: { uploadId: string; step: string; patch: Partial<Omit<CheckRow, "upload_id" | "step">> },
): Promise<void> {
  await db
    .updateTable("checks")
    .set(options.patch)
    .where("upload_id", "=", options.uploadId)
    .where("step", "=", options.step)
    .execute();
}

/** Marks the steps that will not run (an earlier one rejected the file). */
export async function cancelChecks(db: Kysely<Database>, uploadId: string): Promise<void> {
  const open: CheckStatus[] = ["queued", "running", "retrying"];
  await db
    .updateTable("checks")
    .set({ status: "cancelled" })
    .where("upload_id", "=", uploadId)
    .where("status", "in", open)
    .execute();
}
