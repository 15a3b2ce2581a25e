import { mkdtemp, rm } from "node:fs/promises";
import { Agent } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";
import type { S3Target } from "@sluice/core/testing";
import { startStore } from "../server.ts";

/**
 * The S3 endpoint a conformance suite runs against: our embedded store, or a
 * Ceph RGW from the test tier (scripts/tiers/up.sh).
 */
export interface ConformanceTarget {
  kind: "sluice" | "rgw";
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Data directory of the embedded store (undefined for RGW). */
  dataDir?: string;
  /** A client at the SDK's default settings, except where the target needs otherwise (RGW 16: no flexible checksums). */
  client(options?: S3ClientConfig & { virtualHost?: boolean }): S3Client;
  /** A fresh bucket name for one test file. */
  bucket(label: string): string;
  close(): Promise<void>;
}

// Every `*.localhost` name resolves to loopback, as browsers and curl do.
const loopbackAgent = new Agent({
  keepAlive: true,
  lookup: (_hostname, options, callback) => {
    if ((options as { all?: boolean }).all)
      (callback as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [
        { address: "127.0.0.1", family: 4 },
      ]);
    else callback(null, "127.0.0.1", 4);
  },
});

/** Opens a Ceph RGW target when given one, else starts an embedded store. */
export async function openTarget(rgw?: S3Target): Promise<ConformanceTarget> {
  let endpoint: string;
  let credentials: ConformanceTarget["credentials"];
  let close: () => Promise<void>;
  let dataDir: string | undefined;
  if (rgw) {
    endpoint = rgw.endpoint.replace(/\/+$/, "");
    credentials = { accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey };
    close = async () => {};
  } else {
    dataDir = await mkdtemp(join(tmpdir(), "sluice-store-"));
    credentials = {
      accessKeyId: "SLUICETESTKEY",
      secretAccessKey: "sluice/test/secret/0123456789abcdefghij",
    };
    const store = await startStore({
      dataDir,
      credentials: [credentials, { accessKeyId: "SLUICESECONDKEY", secretAccessKey: "second-secret" }],
      // As RGW and S3 in regions that still have it: SigV2 policies and URLs are part of what real clients send.
      allowSignatureV2: true,
    });
    endpoint = store.endpoint;
    close = async () => {
      await store.close();
      await rm(dataDir as string, { recursive: true, force: true });
    };
  }
  const kind = rgw ? "rgw" : "sluice";
  const run = Math.random().toString(36).slice(2, 8);
  const clients: S3Client[] = [];
  return {
    kind,
    endpoint,
    region: "us-east-1",
    credentials,
    ...(dataDir ? { dataDir } : {}),
    client(options = {}) {
      const { virtualHost, ...config } = options;
      const url = new URL(endpoint);
      const client = new S3Client({
        region: "us-east-1",
        credentials,
        endpoint: virtualHost ? `http://localhost:${url.port}` : endpoint,
        forcePathStyle: !virtualHost,
        maxAttempts: 1,
        ...(kind === "rgw"
          ? { requestChecksumCalculation: "WHEN_REQUIRED", responseChecksumValidation: "WHEN_REQUIRED" }
          : {}),
        requestHandler: { httpAgent: loopbackAgent },
        ...config,
      });
      clients.push(client);
      return client;
    },
    bucket: (label) => `conf-${run}-${label}`.slice(0, 63),
    close: async () => {
      for (const client of clients) client.destroy();
      await close();
    },
  };
}

/** A client and a fresh bucket for one suite. */
export async function withBucket(
  target: ConformanceTarget,
  label: string,
): Promise<{ target: ConformanceTarget; s3: S3Client; bucket: string }> {
  const s3 = target.client();
  const bucket = target.bucket(label);
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  return { target, s3, bucket };
}
