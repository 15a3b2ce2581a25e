// `sluice store` alone: credentials generated once (0600), kept, printed as the S3 client settings; clean stop.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListBucketsCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { binaryTier } from "@sluice/core/testing";
import { finished, runCli, spawnCli } from "../test/cli.ts";

const run = promisify(execFile);

function printed(stdout: string, name: string): string {
  const value = new RegExp(`${name}=(\\S+)`).exec(stdout)?.[1];
  assert.ok(value, `${name} in ${stdout}`);
  return value;
}

async function runStore(
  root: string,
  check: (stdout: string) => Promise<void> = checkServes,
  flags: string[] = [],
): Promise<{ stdout: string; code: number | null }> {
  const child = spawnCli(["store", "--data", "d", "--port", "0", ...flags], {
    cwd: root,
    env: { HOME: root },
  });
  const done = finished(child);
  let stdout = "";
  await new Promise<void>((resolve) =>
    child.stdout?.on("data", (chunk) => {
      stdout += chunk;
      if (stdout.includes("Stop with Ctrl-C.")) resolve();
    }),
  );
  try {
    await check(stdout);
  } finally {
    child.kill("SIGINT");
  }
  return { stdout, code: (await done).code };
}

function printedClient(stdout: string): S3Client {
  return new S3Client({
    endpoint: printed(stdout, "AWS_ENDPOINT_URL"),
    region: printed(stdout, "AWS_REGION"),
    forcePathStyle: true,
    credentials: {
      accessKeyId: printed(stdout, "AWS_ACCESS_KEY_ID"),
      secretAccessKey: printed(stdout, "AWS_SECRET_ACCESS_KEY"),
    },
  });
}

async function checkServes(stdout: string): Promise<void> {
  const endpoint = printed(stdout, "AWS_ENDPOINT_URL");
  // Anonymous requests are refused by real SigV4 checks: the store is up and not open...
  assert.equal((await fetch(`${endpoint}/sluice/x`)).status, 403);
  // ...and the printed credentials are the ones it accepts.
  const s3 = printedClient(stdout);
  const bucket = `printed-credentials-${randomUUID()}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  assert.ok((await s3.send(new ListBucketsCommand({}))).Buckets?.some((b) => b.Name === bucket));
  s3.destroy();
}

test("sluice store prints working S3 credentials, keeps them private (0600) and stable, and stops on Ctrl-C", async (t) => {
  const root = await mkdtemp(join(tmpdir(), "sluice-store-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  const first = await runStore(root);
  assert.equal(first.code, 0);
  const file = join(root, "d", "store-credentials.json");
  const credentials = JSON.parse(await readFile(file, "utf8"));
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  assert.equal(printed(first.stdout, "AWS_ACCESS_KEY_ID"), credentials.accessKeyId);
  const second = await runStore(root);
  assert.equal(second.code, 0);
  assert.equal(JSON.parse(await readFile(file, "utf8")).accessKeyId, credentials.accessKeyId);
});

test("sluice store rotate-key re-wraps the data keys of encrypted objects, which read back after a restart", async (t) => {
  const root = await mkdtemp(join(tmpdir(), "sluice-store-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  const data = randomUUID().repeat(1000);
  const first = await runStore(root, async (stdout) => {
    const s3 = printedClient(stdout);
    await s3.send(new CreateBucketCommand({ Bucket: "sealed" }));
    await s3.send(
      new PutObjectCommand({ Bucket: "sealed", Key: "k", Body: data, ServerSideEncryption: "AES256" }),
    );
    s3.destroy();
  });
  assert.equal(first.code, 0);
  const rotated = await runCli(["store", "rotate-key", "--data", "d"], { cwd: root, env: { HOME: root } });
  assert.equal(rotated.code, 0, rotated.stderr);
  assert.match(rotated.stdout, /New master key [0-9a-f]+: 1 data keys re-wrapped; retired [0-9a-f]+\./);
  const second = await runStore(root, async (stdout) => {
    const s3 = printedClient(stdout);
    const got = await s3.send(new GetObjectCommand({ Bucket: "sealed", Key: "k" }));
    assert.equal(got.ServerSideEncryption, "AES256");
    assert.equal(await got.Body?.transformToString(), data);
    s3.destroy();
  });
  assert.equal(second.code, 0);
});

/** A SigV2 presigned GET as boto3 makes it (signature_version "s3"): its HTTP status from the store. */
async function sigV2Status(stdout: string): Promise<number> {
  const endpoint = printed(stdout, "AWS_ENDPOINT_URL");
  const script = `
import boto3, os
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url=os.environ["E"], region_name="us-east-1",
    aws_access_key_id=os.environ["K"], aws_secret_access_key=os.environ["S"],
    config=Config(signature_version="s3", s3={"addressing_style": "path"}))
print(s3.generate_presigned_url("get_object", Params={"Bucket": "v2", "Key": "k"}, ExpiresIn=60))
`;
  const { stdout: url } = await run("/usr/bin/python3", ["-c", script], {
    env: {
      PATH: process.env.PATH,
      E: endpoint,
      K: printed(stdout, "AWS_ACCESS_KEY_ID"),
      S: printed(stdout, "AWS_SECRET_ACCESS_KEY"),
    },
  });
  assert.match(url, /Signature=/);
  return (await fetch(url.trim())).status;
}

test("sluice store --allow-sigv2 accepts Signature Version 2 (boto3 signature_version s3); without it 403", {
  skip: binaryTier("/usr/bin/python3", "python3-boto3").available
    ? false
    : "python3 with boto3 not installed",
}, async (t) => {
  const root = await mkdtemp(join(tmpdir(), "sluice-store-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  const statuses: number[] = [];
  const check = async (stdout: string) => void statuses.push(await sigV2Status(stdout));
  await runStore(root, check);
  await runStore(root, check, ["--allow-sigv2"]);
  // Refused without the flag; with it, signed and accepted (the bucket does not exist).
  assert.deepEqual(statuses, [403, 404]);
});
