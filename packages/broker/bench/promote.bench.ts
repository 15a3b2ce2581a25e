// What promotion out of quarantine costs (verification/promote.ts), on the
// embedded store and on Ceph RGW (when SLUICE_RGW_* is set): a 1 GiB multipart
// object is uploaded into quarantine (the baseline), then promoted by one
// CopyObject, and by UploadPartCopy (the path above 5 GiB, forced here).
// Wall time and this process's CPU (the embedded store runs in it; RGW's own
// CPU is not counted). The machine is shared: compare ratios, not absolutes.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { type BenchRow, cpuSecondsFromProc, printTable } from "@sluice/core/bench";
import { startStore } from "@sluice/store";
import type { BrokerContext } from "../src/context.ts";
import { promote } from "../src/verification/promote.ts";

const MiB = 1024 * 1024;
const SIZE = Number(process.env.SLUICE_BENCH_PROMOTE_MIB ?? 1024) * MiB;
const PART = 64 * MiB;

async function measure(name: string, run: () => Promise<unknown>): Promise<BenchRow> {
  const cpu = await cpuSecondsFromProc("self");
  const start = performance.now();
  await run();
  const seconds = (performance.now() - start) / 1000;
  const used = (await cpuSecondsFromProc("self")) - cpu;
  return {
    name,
    value: seconds,
    extra: { "MiB/s": (SIZE / MiB / seconds).toFixed(0), "CPU s": used.toFixed(2) },
  };
}

async function benchTarget(title: string, s3: S3Client, bucket: string): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: bucket })).catch(() => undefined);
  const part = randomBytes(PART);
  const row = {
    id: "00000000-0000-4000-8000-000000000000",
    key: "bench/u/00000000-0000-4000-8000-000000000000/big.bin",
    incoming_key: "bench/u/00000000-0000-4000-8000-000000000000/incoming/big.bin",
    etag: null as string | null,
    size: SIZE,
    type: "application/octet-stream",
  };
  const upload = await measure("multipart upload (baseline)", async () => {
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: bucket, Key: row.incoming_key }),
    );
    const parts = [];
    for (let n = 1; n <= SIZE / PART; n++) {
      const sent = await s3.send(
        new UploadPartCommand({ Bucket: bucket, Key: row.incoming_key, UploadId, PartNumber: n, Body: part }),
      );
      parts.push({ PartNumber: n, ETag: sent.ETag! });
    }
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: row.incoming_key,
        UploadId,
        MultipartUpload: { Parts: parts },
      }),
    );
    // As completion records it (uploads/complete.ts): the ETag a HEAD answers.
    row.etag = (await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: row.incoming_key }))).ETag ?? null;
  });
  const ctx = { s3, target: { bucket } } as unknown as BrokerContext;
  const copy = await measure("promote: CopyObject", () => promote(ctx, row));
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: row.key }));
  const parts = await measure("promote: UploadPartCopy (256 MiB parts)", () =>
    promote(ctx, row, { singleCopyLimit: 0, partSize: 256 * MiB }),
  );
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: row.key }));
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: row.incoming_key }));
  printTable({
    title: `${title}: promotion of a ${SIZE / MiB} MiB multipart object (seconds, lower is better)`,
    unit: "s",
    baseline: "multipart upload (baseline)",
    lowerIsBetter: true,
    rows: [upload, copy, parts],
  });
}

export default async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "sluice-promote-bench-"));
  const credentials = { accessKeyId: "AKBENCH", secretAccessKey: randomBytes(20).toString("hex") };
  const store = await startStore({ dataDir: join(dir, "store"), port: 0, credentials: [credentials] });
  const local = new S3Client({
    endpoint: store.endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials,
  });
  try {
    await benchTarget("embedded store", local, "bench");
  } finally {
    local.destroy();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const { SLUICE_RGW_ENDPOINT, SLUICE_RGW_ACCESS_KEY, SLUICE_RGW_SECRET_KEY } = process.env;
  if (!SLUICE_RGW_ENDPOINT || !SLUICE_RGW_ACCESS_KEY || !SLUICE_RGW_SECRET_KEY) {
    console.log("\nCeph RGW: skipped (SLUICE_RGW_ENDPOINT unset)");
    return;
  }
  const rgw = new S3Client({
    endpoint: SLUICE_RGW_ENDPOINT,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: SLUICE_RGW_ACCESS_KEY, secretAccessKey: SLUICE_RGW_SECRET_KEY },
  });
  try {
    await benchTarget("Ceph RGW", rgw, `sluice-bench-${randomBytes(4).toString("hex")}`);
  } finally {
    rgw.destroy();
  }
}
