import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHmac } from "node:crypto";
import { request } from "node:http";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { binaryTier } from "@sluice/core/testing";
import { CREDENTIALS, openTestStore, type TestStore } from "./test/harness.ts";

const run = promisify(execFile);

/**
 * Signs a V2 presigned URL by hand, straight from the S3 docs ("Query string
 * request authentication alternative"): Signature = Base64(HMAC-SHA1(secret,
 * "GET\n\n\n<Expires>\n/<bucket>/<key>")), on purpose not with @sluice/sigv4.
 */
function presignV2(options: {
  endpoint: string;
  method: string;
  path: string;
  expires: number;
  secret?: string;
  contentType?: string;
}) {
  const stringToSign = `${options.method}\n\n${options.contentType ?? ""}\n${options.expires}\n${options.path}`;
  const signature = createHmac("sha1", options.secret ?? CREDENTIALS.secretAccessKey)
    .update(stringToSign)
    .digest("base64");
  return `${options.endpoint}${options.path}?AWSAccessKeyId=${CREDENTIALS.accessKeyId}&Expires=${options.expires}&Signature=${encodeURIComponent(signature)}`;
}

const inAMinute = () => Math.floor(Date.now() / 1000) + 60;
const codeOf = async (res: Response) => /<Code>([^<]+)<\/Code>/.exec(await res.text())?.[1];

describe("legacy Signature V2 (allowSignatureV2)", () => {
  let on: TestStore;
  let off: TestStore;
  before(async () => {
    on = await openTestStore({ buckets: ["legacy"], allowSignatureV2: true });
    off = await openTestStore({ buckets: ["legacy"] });
    for (const t of [on, off])
      await t.s3.send(new PutObjectCommand({ Bucket: "legacy", Key: "dir/file name.txt", Body: "v2 body" }));
  });
  after(async () => {
    await on.close();
    await off.close();
  });

  test("a hand-signed V2 presigned GET works when enabled", async () => {
    const res = await fetch(
      presignV2({
        endpoint: on.endpoint,
        method: "GET",
        path: "/legacy/dir/file%20name.txt",
        expires: inAMinute(),
      }),
    );
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "v2 body");
  });

  test("a V2 presigned PUT with a signed Content-Type stores the object", async () => {
    const url = presignV2({
      endpoint: on.endpoint,
      method: "PUT",
      path: "/legacy/put.txt",
      expires: inAMinute(),
      contentType: "text/plain",
    });
    const res = await fetch(url, {
      method: "PUT",
      body: "put via v2",
      headers: { "content-type": "text/plain" },
    });
    assert.equal(res.status, 200);
    const got = await on.s3.send(new GetObjectCommand({ Bucket: "legacy", Key: "put.txt" }));
    assert.equal(got.ContentType, "text/plain");
    const other = await fetch(url, { method: "PUT", body: "x", headers: { "content-type": "text/html" } });
    assert.equal(other.status, 403);
    assert.equal(await codeOf(other), "SignatureDoesNotMatch");
  });

  test("a header-signed PUT with a repeated x-amz-meta header: values joined by ',' without spaces, as the S3 docs sign them", async () => {
    const date = new Date().toUTCString();
    const stringToSign = `PUT\n\n\n${date}\nx-amz-meta-reviewedby:joe@johnsmith.net,jane@johnsmith.net\n/legacy/reviewed.txt`;
    const signature = createHmac("sha1", CREDENTIALS.secretAccessKey).update(stringToSign).digest("base64");
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${on.endpoint}/legacy/reviewed.txt`, {
        method: "PUT",
        headers: {
          date,
          authorization: `AWS ${CREDENTIALS.accessKeyId}:${signature}`,
          "x-amz-meta-reviewedby": ["joe@johnsmith.net", " jane@johnsmith.net"],
          "content-length": "1",
        },
      });
      req.on("response", (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.end("x");
    });
    assert.equal(status, 200);
  });

  test("expired, tampered key, wrong secret, unknown key: 403", async () => {
    const expired = await fetch(
      presignV2({
        endpoint: on.endpoint,
        method: "GET",
        path: "/legacy/dir/file%20name.txt",
        expires: Math.floor(Date.now() / 1000) - 5,
      }),
    );
    assert.equal(expired.status, 403);
    assert.equal(await codeOf(expired), "AccessDenied");
    const url = presignV2({
      endpoint: on.endpoint,
      method: "GET",
      path: "/legacy/dir/file%20name.txt",
      expires: inAMinute(),
    });
    const tampered = await fetch(url.replace("file%20name", "other"));
    assert.equal(await codeOf(tampered), "SignatureDoesNotMatch");
    const longer = await fetch(url.replace(/Expires=\d+/, `Expires=${inAMinute() + 3600}`));
    assert.equal(await codeOf(longer), "SignatureDoesNotMatch");
    const wrong = await fetch(
      presignV2({
        endpoint: on.endpoint,
        method: "GET",
        path: "/legacy/dir/file%20name.txt",
        expires: inAMinute(),
        secret: "wrong",
      }),
    );
    assert.equal(await codeOf(wrong), "SignatureDoesNotMatch");
    const unknown = await fetch(url.replace(CREDENTIALS.accessKeyId, "NOSUCHKEY"));
    assert.equal(await codeOf(unknown), "InvalidAccessKeyId");
    const malformed = await fetch(
      `${on.endpoint}/legacy/x?AWSAccessKeyId=${CREDENTIALS.accessKeyId}&Expires=soon&Signature=abc`,
    );
    assert.equal(malformed.status, 403);
  });

  test("refused with 403 when disabled (the default), not served as anonymous", async () => {
    const res = await fetch(
      presignV2({
        endpoint: off.endpoint,
        method: "GET",
        path: "/legacy/dir/file%20name.txt",
        expires: inAMinute(),
      }),
    );
    assert.equal(res.status, 403);
    assert.match(await res.text(), /Signature version 2 is disabled/);
  });

  test("a V2 POST policy (HMAC-SHA1, AWSAccessKeyId/policy/signature fields) uploads when enabled", async () => {
    const policy = Buffer.from(
      JSON.stringify({
        expiration: new Date(Date.now() + 60_000).toISOString(),
        conditions: [{ bucket: "legacy" }, ["starts-with", "$key", "v2/"], ["content-length-range", 1, 100]],
      }),
    ).toString("base64");
    const form = (signature: string) => {
      const data = new FormData();
      data.append("key", "v2/posted.txt");
      data.append("AWSAccessKeyId", CREDENTIALS.accessKeyId);
      data.append("policy", policy);
      data.append("signature", signature);
      data.append("file", new Blob(["v2 form"]), "posted.txt");
      return data;
    };
    const signature = createHmac("sha1", CREDENTIALS.secretAccessKey).update(policy).digest("base64");
    const res = await fetch(`${on.endpoint}/legacy`, { method: "POST", body: form(signature) });
    assert.equal(res.status, 204, await res.text());
    const got = await on.s3.send(new GetObjectCommand({ Bucket: "legacy", Key: "v2/posted.txt" }));
    assert.equal(await got.Body?.transformToString(), "v2 form");
    const bad = await fetch(`${on.endpoint}/legacy`, {
      method: "POST",
      body: form(`A${signature.slice(1)}`),
    });
    assert.equal(bad.status, 403);
    assert.equal(await codeOf(bad), "SignatureDoesNotMatch");
  });

  const python = binaryTier("/usr/bin/python3", "python3-boto3");
  /** Runs `script` after a prelude that makes `s3`, a boto3 client signing with SigV2 for this store. */
  const runBoto = async (script: string) => {
    const prelude = `
import boto3, sys, urllib.request, urllib.parse, re
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url=sys.argv[1], aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3],
                  region_name="us-east-1", config=Config(signature_version="s3", s3={"addressing_style": "path"}))
`;
    const { stdout } = await run(
      "/usr/bin/python3",
      ["-c", prelude + script, on.endpoint, CREDENTIALS.accessKeyId, CREDENTIALS.secretAccessKey],
      {
        env: {
          PATH: process.env.PATH ?? "",
          AWS_CONFIG_FILE: "/dev/null",
          AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
          AWS_EC2_METADATA_DISABLED: "true",
          NO_PROXY: "*",
        },
        timeout: 60_000,
      },
    );
    return stdout;
  };
  test("boto3 with signature_version='s3' (header auth and presigned query)", {
    skip: python.available ? false : python.reason,
  }, async () => {
    const script = `
s3.put_object(Bucket="legacy", Key="boto/v2 key.txt", Body=b"from boto v2", ContentType="text/plain")
print(s3.get_object(Bucket="legacy", Key="boto/v2 key.txt")["Body"].read().decode())
url = s3.generate_presigned_url("get_object", Params={"Bucket": "legacy", "Key": "boto/v2 key.txt"}, ExpiresIn=60)
print(urllib.request.urlopen(url).read().decode())
`;
    assert.equal(await runBoto(script), "from boto v2\nfrom boto v2\n");
  });

  test("boto3 with signature_version='s3': bucket requests (lists with EncodingType='url', presigned too; multipart; get_object_attributes; delete_objects)", {
    skip: python.available ? false : python.reason,
  }, async () => {
    const script = `
keys = ["enc/a b+c.txt", "enc/\u00e9t\u00e9&x=y.txt", "enc/plain.txt"]
for key in keys: s3.put_object(Bucket="legacy", Key=key, Body=b"x")
# Asked for by the caller, EncodingType='url' keys come back encoded (boto3 decodes only the ones it asked for itself).
decoded = lambda listing: sorted(urllib.parse.unquote(o["Key"]) for o in listing["Contents"])
print(decoded(s3.list_objects(Bucket="legacy", Prefix="enc/", EncodingType="url")) == sorted(keys))
print(decoded(s3.list_objects_v2(Bucket="legacy", Prefix="enc/", EncodingType="url")) == sorted(keys))
print(sorted(o["Key"] for o in s3.list_objects_v2(Bucket="legacy", Prefix="enc/")["Contents"]) == sorted(keys))
for op in ["list_objects", "list_objects_v2"]:
    url = s3.generate_presigned_url(op, Params={"Bucket": "legacy", "Prefix": "enc/", "EncodingType": "url"}, ExpiresIn=60)
    xml = urllib.request.urlopen(url).read().decode()
    print(sorted(urllib.parse.unquote(k) for k in re.findall("<Key>([^<]*)</Key>", xml)) == sorted(keys))
upload = s3.create_multipart_upload(Bucket="legacy", Key="enc/multi part")["UploadId"]
etag = s3.upload_part(Bucket="legacy", Key="enc/multi part", UploadId=upload, PartNumber=1, Body=b"one part")["ETag"]
s3.complete_multipart_upload(Bucket="legacy", Key="enc/multi part", UploadId=upload, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
print(s3.get_object(Bucket="legacy", Key="enc/multi part")["Body"].read().decode())
print(s3.get_object_attributes(Bucket="legacy", Key="enc/multi part", ObjectAttributes=["ObjectSize"])["ObjectSize"])
print(len(s3.delete_objects(Bucket="legacy", Delete={"Objects": [{"Key": k} for k in keys]})["Deleted"]))
`;
    assert.equal(await runBoto(script), "True\nTrue\nTrue\nTrue\nTrue\none part\n8\n3\n");
  });
});
