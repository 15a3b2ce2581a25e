// Opaque page cursors of the (time, id) listings: the audit log, the webhook delivery log.
import { errors } from "@sluice/core";

export interface Cursor {
  at: number;
  id: string;
}

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.at, cursor.id])).toString("base64url");
}

/** The cursor, or a 400 for anything this API did not hand out. */
export function decodeCursor(text: string): Cursor {
  try {
    const [at, id] = JSON.parse(Buffer.from(text, "base64url").toString()) as unknown[];
    if (typeof at === "number" && typeof id === "string") return { at, id };
  } catch {}
  throw errors.badRequest("cursor: not a cursor of this API", "ValidationError");
}

/** The cursor of the next page: the last row when the page is full, else null. */
export function nextCursor<T>(rows: T[], limit: number, key: (row: T) => Cursor): string | null {
  const last = rows.length === limit ? rows[rows.length - 1] : undefined;
  return last === undefined ? null : encodeCursor(key(last));
}
