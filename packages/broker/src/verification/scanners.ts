// Content scanners supplied by library users (malware scanning, content
// policy): each reads the object as a stream and may reject it with a reason.
import type { BrokerContext } from "../context.ts";
import type { UploadRow } from "../db/schema.ts";
import { getQuarantined } from "../uploads/quarantine.ts";

export interface ScannedFile {
  id: string;
  tenant: string;
  user: string;
  name: string;
  type: string;
  size: number;
  /** The quarantined object being checked (the file's own key only exists once it is ready). */
  key: string;
}

/** Returns a rejection reason, or nothing to accept. Thrown errors retry the job later. */
export type Scanner = (
  file: ScannedFile,
  open: () => Promise<ReadableStream<Uint8Array>>,
) => Promise<string | null | undefined> | string | null | undefined;

export async function runScanners(ctx: BrokerContext, row: UploadRow): Promise<string | undefined> {
  const file: ScannedFile = {
    id: row.id,
    tenant: row.tenant,
    user: row.user_id,
    name: row.name,
    type: row.type,
    size: row.size,
    key: row.incoming_key,
  };
  const open = async () => {
    const object = await getQuarantined(ctx, row);
    return object.Body!.transformToWebStream() as ReadableStream<Uint8Array>;
  };
  for (const scanner of ctx.scanners) {
    const reason = await scanner(file, open);
    if (reason) return reason;
  }
  return undefined;
}
