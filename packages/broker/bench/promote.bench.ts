// What promotion out of quarantine costs (verification/promote.ts), on the
// embedded store and on Ceph RGW (when SLUICE_RGW_* is set): a 1 GiB multipart
// object is uploaded into quarantine (the baseline), then promoted by one
// CopyObject, and by UploadPartCopy (the path above 5 GiB, forced here).
// Columns: wall time, this process's CPU (the embedded store runs in it), the
// bytes the store wrote to disk (embedded: a copy shares the blob) and, when
// SLUICE_BENCH_RGW_PIDS names the tier's radosgw and ceph-osd processes
// (`cat $TIERS_DIR/rgw/pids/*.pid`), their CPU. The machine is shared:
// compare ratios, not absolutes.
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { type BenchRow, cpuSecondsFromProc, printTable } from "@sluice/core/bench";
import { startStore } from "@sluice/store";
import { parseConfig } from "../src/config/load.ts";
import { createS3Client } from "../src/storage/s3.ts";
import { storageTarget } from "../src/storage/target.ts";
import { promote } from "../src/verification/promote.ts";

const MiB = 1024 * 1024;
const SIZE = Number(process.env.SLUICE_BENCH_PROMOTE_MIB ?? 1024) * MiB;
const PART = 64 * MiB;
const ID = "00000000-0000-4000-8000-000000000000";

/** Bytes of every file under `dir` (the embedded store's data). */
function diskBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true }))
    if (entry.isFile()) total += statSync(join(entry.parentPath, entry.name)).size;
  return total;
}

interface Probes {
  /** The store's data directory, when it is on this machine. */
  dataDir?: string;
  /** Storage processes whose CPU is counted. */
  pids: number[];
}

async function cpuOf(pids: number[]): Promise<number> {
  let total = 0;
  for (const pid of pids) total += await cpuSecondsFromProc(pid);
  return total;
}

async function measure(name: string, probes: Probes, run: () => Promise<unknown>): Promise<BenchRow> {
  const cpu = await cpuSecondsFromProc("self");
  const storageCpu = await cpuOf(probes.pids);
  const disk = probes.dataDir ? diskBytes(probes.dataDir) : 0;
  const start = performance.now();
  await run();
  const seconds = (performance.now() - start) / 1000;
  const extra: Record<string, string> = {
    "MiB/s": (SIZE / MiB / seconds).toFixed(0),
    "CPU s (this process)": ((await cpuSecondsFromProc("self")) - cpu).toFixed(2),
  };
  if (probes.pids.length > 0)
    extra["CPU s (RGW + OSD)"] = ((await cpuOf(probes.pids)) - storageCpu).toFixed(2);
  if (probes.dataDir) extra["MiB written"] = ((diskBytes(probes.dataDir) - disk) / MiB).toFixed(1);
  return { name, value: seconds, extra };
}

async function benchTarget(
  title: string,
  storage: { endpoint: string; accessKeyId: string; secretAccessKey: string; bucket: string },
  probes: Probes,
): Promise<void> {
  const config = parseConfig({ dataDir: tmpdir(), storage, log: { level: "silent" } });
  const target = storageTarget(config);
  const s3 = createS3Client(target);
  const { bucket } = storage;
  await s3.send(new CreateBucketCommand({ Bucket: bucket })).catch(() => undefined);
  const part = randomBytes(PART);
  const row = {
    id: ID,
    key: `bench/u/${ID}/big.bin`,
    incoming_key: `bench/u/${ID}/incoming/big.bin`,
    etag: null as string | null,
    size: SIZE,
    type: "application/octet-stream",
    profile: "default",
    sha256: null,
  };
  const ctx = { s3, target, config };
  try {
    const upload = await measure("multipart upload (baseline)", probes, async () => {
      const { UploadId } = await s3.send(
        new CreateMultipartUploadCommand({ Bucket: bucket, Key: row.incoming_key }),
      );
      const parts = [];
      for (let n = 1; n <= SIZE / PART; n++) {
        const sent = await s3.send(
          new UploadPartCommand({
            Bucket: bucket,
            Key: row.incoming_key,
            UploadId,
            PartNumber: n,
            Body: part,
          }),
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
      row.etag =
        (await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: row.incoming_key }))).ETag ?? null;
    });
    const copy = await measure("promote: CopyObject", probes, () => promote(ctx, row));
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: row.key }));
    const parts = await measure("promote: UploadPartCopy (256 MiB parts)", probes, () =>
      promote(ctx, row, { singleCopyLimit: 0, partSize: 256 * MiB }),
    );
    printTable({
      title: `${title}: promotion of a ${SIZE / MiB} MiB multipart object (seconds, lower is better)`,
      unit: "s",
      baseline: "multipart upload (baseline)",
      lowerIsBetter: true,
      rows: [upload, copy, parts],
    });
  } finally {
    for (const key of [row.key, row.incoming_key])
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })).catch(() => undefined);
    await s3.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
    s3.destroy();
  }
}

export default async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "sluice-promote-bench-"));
  const credentials = { accessKeyId: "AKBENCH", secretAccessKey: randomBytes(20).toString("hex") };
  const dataDir = join(dir, "store");
  const store = await startStore({ dataDir, port: 0, credentials: [credentials] });
  try {
    await benchTarget(
      "embedded store",
      { endpoint: store.endpoint, ...credentials, bucket: "bench" },
      { dataDir, pids: [] },
    );
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const { SLUICE_RGW_ENDPOINT, SLUICE_RGW_ACCESS_KEY, SLUICE_RGW_SECRET_KEY } = process.env;
  if (!SLUICE_RGW_ENDPOINT || !SLUICE_RGW_ACCESS_KEY || !SLUICE_RGW_SECRET_KEY) {
    console.log("\nCeph RGW: skipped (SLUICE_RGW_ENDPOINT unset)");
    return;
  }
  const pids = (process.env.SLUICE_BENCH_RGW_PIDS ?? "")
    .split(/[\s,]+/)
    .filter(Boolean)
    .map(Number);
  await benchTarget(
    "Ceph RGW",
    {
      endpoint: SLUICE_RGW_ENDPOINT,
      accessKeyId: SLUICE_RGW_ACCESS_KEY,
      secretAccessKey: SLUICE_RGW_SECRET_KEY,
      bucket: `sluice-bench-${randomBytes(4).toString("hex")}`,
    },
    { pids },
  );
}
