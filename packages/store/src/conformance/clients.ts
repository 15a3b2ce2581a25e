import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, type TestContext, test } from "node:test";
import { promisify } from "node:util";
import { HeadObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { type ConformanceTarget, withBucket } from "./target.ts";

const run = promisify(execFile);
const AWS = "/usr/bin/aws";
export const PYTHON = "/usr/bin/python3";

/** Real clients are optional on a dev machine (skip, saying why) but required in CI (CI=true: fail). */
export async function requireClient(
  t: TestContext,
  what: string,
  available: () => Promise<boolean>,
): Promise<boolean> {
  if (await available()) return true;
  const message = `${what} is not installed: apt-get install -y awscli python3-boto3 python3-requests curl`;
  if (process.env.CI === "true") assert.fail(message);
  t.skip(message);
  return false;
}

/** Debian's python3 can import these modules (e.g. "boto3, requests"). */
export const hasPython = (modules: string) => async () =>
  existsSync(PYTHON) &&
  (await run(PYTHON, ["-c", `import ${modules}`]).then(
    () => true,
    () => false,
  ));
const hasBoto3 = hasPython("boto3");

export function realClientConformance(getTarget: () => ConformanceTarget): void {
  describe("real clients: aws CLI v2 and boto3", () => {
    let target: ConformanceTarget;
    let s3: S3Client;
    let bucket: string;
    let dir: string;
    let env: NodeJS.ProcessEnv;
    before(async () => {
      ({ target, s3, bucket } = await withBucket(getTarget(), "clients"));
      dir = await mkdtemp(join(tmpdir(), "sluice-clients-"));
      // Only these credentials and this region: no ~/.aws, no instance metadata, no proxy.
      env = {
        PATH: process.env.PATH,
        HOME: dir,
        AWS_ACCESS_KEY_ID: target.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: target.credentials.secretAccessKey,
        AWS_DEFAULT_REGION: target.region,
        AWS_CONFIG_FILE: "/dev/null",
        AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
        AWS_EC2_METADATA_DISABLED: "true",
        NO_PROXY: "*",
        SLUICE_ENDPOINT: target.endpoint,
        SLUICE_BUCKET: bucket,
      };
    });
    after(async () => {
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    const aws = (...args: string[]) =>
      run(AWS, ["--endpoint-url", target.endpoint, ...args], { env, maxBuffer: 16 * 1024 * 1024 });

    test("aws s3 cp of 100 MB goes multipart; aws s3 ls lists it; aws s3 cp downloads it intact", async (t) => {
      if (!(await requireClient(t, AWS, async () => existsSync(AWS)))) return;
      const block = randomBytes(1024 * 1024);
      const body = Buffer.concat(
        Array.from({ length: 100 }, (_, i) => Buffer.concat([block.subarray(1), Buffer.from([i])])),
      );
      const file = join(dir, "big.bin");
      await writeFile(file, body);
      await aws("s3", "cp", file, `s3://${bucket}/cli/big.bin`, "--only-show-errors");
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "cli/big.bin" }));
      assert.equal(head.ContentLength, body.length);
      assert.match(head.ETag ?? "", /-\d+"$/, "multipart ETag");
      const { stdout } = await aws("s3", "ls", `s3://${bucket}/cli/`);
      assert.match(stdout, new RegExp(`\\s${body.length} big\\.bin`));
      const back = join(dir, "back.bin");
      await aws("s3", "cp", `s3://${bucket}/cli/big.bin`, back, "--only-show-errors");
      const { stdout: sum } = await run("sha256sum", [back]);
      assert.equal(sum.split(" ")[0], createHash("sha256").update(body).digest("hex"));
    });

    test("aws s3 presign gives a URL plain fetch can GET", async (t) => {
      if (!(await requireClient(t, AWS, async () => existsSync(AWS)))) return;
      const file = join(dir, "small.txt");
      await writeFile(file, "presigned by the CLI");
      await aws("s3", "cp", file, `s3://${bucket}/cli/small.txt`, "--only-show-errors");
      const { stdout } = await aws("s3", "presign", `s3://${bucket}/cli/small.txt`, "--expires-in", "60");
      const res = await fetch(stdout.trim());
      assert.equal(res.status, 200);
      assert.equal(await res.text(), "presigned by the CLI");
    });

    test("boto3: put, list, multipart upload_file, presigned PUT and GET", async (t) => {
      if (!(await requireClient(t, "python3-boto3", hasBoto3))) return;
      const script = `
import os, urllib.request, boto3
from botocore.config import Config
from boto3.s3.transfer import TransferConfig
s3 = boto3.client("s3", endpoint_url=os.environ["SLUICE_ENDPOINT"], region_name="us-east-1",
                  config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
b = os.environ["SLUICE_BUCKET"]
s3.put_object(Bucket=b, Key="py/a.txt", Body=b"from boto3", ContentType="text/plain")
keys = [o["Key"] for o in s3.list_objects_v2(Bucket=b, Prefix="py/")["Contents"]]
path = os.path.join(os.environ["HOME"], "mp.bin")
with open(path, "wb") as f:
    f.write(os.urandom(12 * 1024 * 1024))
s3.upload_file(path, b, "py/mp.bin", Config=TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024))
etag = s3.head_object(Bucket=b, Key="py/mp.bin")["ETag"]
put = s3.generate_presigned_url("put_object", Params={"Bucket": b, "Key": "py/presigned.bin"}, ExpiresIn=60)
urllib.request.urlopen(urllib.request.Request(put, data=b"raw bytes", method="PUT")).read()
get = s3.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "py/presigned.bin"}, ExpiresIn=60)
print(keys, etag, urllib.request.urlopen(get).read().decode())
`;
      const { stdout } = await run(PYTHON, ["-c", script], { env });
      assert.match(stdout.trim(), /^\['py\/a\.txt'\] "[0-9a-f]{32}-3" raw bytes$/);
    });
  });
}
