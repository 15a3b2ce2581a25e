import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { createPresignedPost as sdkPresignedPost } from "@aws-sdk/s3-presigned-post";
import { binaryTier } from "@sluice/core/testing";
import { createPresignedPost, FILENAME_VARIABLE, signV2 } from "@sluice/sigv4";
import { CREDENTIALS, openTestStore, type TestStore } from "../test/harness.ts";

const run = promisify(execFile);
const md5 = (data: Buffer | string) => createHash("md5").update(data).digest("hex");

/** Posts a form with the fields in order, the file where `fileAt` says (default last), then `after` fields. */
async function postForm(options: {
  url: string;
  fields: Record<string, string>;
  file?: { data: Buffer | string; name: string; type?: string };
  after?: Record<string, string>;
}): Promise<{ status: number; code: string; body: string; headers: Headers }> {
  const form = new FormData();
  for (const [name, value] of Object.entries(options.fields)) form.append(name, value);
  if (options.file)
    form.append(
      "file",
      new Blob(
        [typeof options.file.data === "string" ? options.file.data : new Uint8Array(options.file.data)],
        { type: options.file.type ?? "application/octet-stream" },
      ),
      options.file.name,
    );
  for (const [name, value] of Object.entries(options.after ?? {})) form.append(name, value);
  const response = await fetch(options.url, { method: "POST", body: form, redirect: "manual" });
  const body = await response.text();
  return {
    status: response.status,
    code: /<Code>([^<]+)<\/Code>/.exec(body)?.[1] ?? "-",
    body,
    headers: response.headers,
  };
}

function tamperPolicy(
  policy: string,
  edit: (document: { expiration: string; conditions: unknown[] }) => void,
): string {
  const document = JSON.parse(Buffer.from(policy, "base64").toString("utf8"));
  edit(document);
  return Buffer.from(JSON.stringify(document)).toString("base64");
}

describe("PostObject (browser form uploads with a signed policy)", () => {
  let t: TestStore;
  let bucketUrl: string;
  const bucket = "forms";
  before(async () => {
    t = await openTestStore({ buckets: [bucket, "other"] });
    bucketUrl = `${t.endpoint}/${bucket}`;
  });
  after(() => t.close());

  const grant = (overrides: Partial<Parameters<typeof createPresignedPost>[0]> = {}) =>
    createPresignedPost({
      url: bucketUrl,
      key: `uploads/${FILENAME_VARIABLE}`,
      credentials: CREDENTIALS,
      region: "us-east-1",
      expiresIn: 300,
      fields: { "Content-Type": "image/png", "x-amz-meta-owner": "alice" },
      conditions: [["content-length-range", 1, 1024 * 1024]],
      ...overrides,
    });

  test("our createPresignedPost: 204, the filename variable substituted, Content-Type and x-amz-meta-* stored", async () => {
    const post = grant();
    const data = randomBytes(5000);
    const res = await postForm({
      url: post.url,
      fields: post.fields,
      file: { data, name: "cat.png", type: "image/png" },
    });
    assert.equal(res.status, 204, res.body);
    assert.equal(res.headers.get("etag"), `"${md5(data)}"`);
    const head = await t.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "uploads/cat.png" }));
    assert.equal(head.ContentLength, 5000);
    assert.equal(head.ContentType, "image/png");
    assert.equal(head.Metadata?.owner, "alice");
    assert.equal(head.ETag, `"${md5(data)}"`);
  });

  test("a non-ASCII file name (as browsers send it, raw UTF-8) becomes the key unchanged", async () => {
    const post = grant();
    const name = "Me & you ® 日本 😀.png";
    const res = await postForm({
      url: post.url,
      fields: post.fields,
      file: { data: "x", name, type: "image/png" },
    });
    assert.equal(res.status, 204, res.body);
    const head = await t.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: `uploads/${name}` }));
    assert.equal(head.ContentLength, 1);
  });

  test("@aws-sdk/s3-presigned-post with success_action_status 201: XML PostResponse", async () => {
    const post = await sdkPresignedPost(t.s3, {
      Bucket: bucket,
      Key: `sdk/${FILENAME_VARIABLE}`,
      Fields: { success_action_status: "201" },
      Conditions: [
        ["starts-with", "$key", "sdk/"],
        ["content-length-range", 0, 100],
      ],
      Expires: 60,
    });
    const res = await postForm({
      url: post.url,
      fields: post.fields,
      file: { data: "hello", name: "a b.txt" },
    });
    assert.equal(res.status, 201, res.body);
    assert.match(
      res.body,
      /<PostResponse[^>]*><Location>[^<]+<\/Location><Bucket>forms<\/Bucket><Key>sdk\/a b.txt<\/Key><ETag>&#34;5d41402abc4b2a76b9719d911017c592&#34;<\/ETag>/,
    );
    const got = await t.s3.send(new GetObjectCommand({ Bucket: bucket, Key: "sdk/a b.txt" }));
    assert.equal(await got.Body?.transformToString(), "hello");
  });

  test("success_action_status 200 and success_action_redirect (303 with bucket, key, etag)", async () => {
    const ok = grant({ key: "status/200", fields: { success_action_status: "200" }, conditions: [] });
    const res200 = await postForm({ url: ok.url, fields: ok.fields, file: { data: "x", name: "x" } });
    assert.equal(res200.status, 200);
    assert.equal(res200.body, "");
    const redirect = grant({
      key: "redirected",
      fields: { success_action_redirect: "https://app.example.test/done?from=form" },
      conditions: [],
    });
    const res = await postForm({
      url: redirect.url,
      fields: redirect.fields,
      file: { data: "y", name: "y" },
    });
    assert.equal(res.status, 303);
    const location = new URL(res.headers.get("location") ?? "");
    assert.equal(location.origin + location.pathname, "https://app.example.test/done");
    assert.equal(location.searchParams.get("from"), "form");
    assert.equal(location.searchParams.get("bucket"), bucket);
    assert.equal(location.searchParams.get("key"), "redirected");
    assert.equal(location.searchParams.get("etag"), `"${md5("y")}"`);
  });

  test("content-length-range is enforced on the streamed file: EntityTooLarge / EntityTooSmall, nothing stored", async () => {
    const post = grant({ key: "sized", conditions: [["content-length-range", 10, 1024 * 1024]] });
    const blobFiles = async () =>
      (await readdir(join(t.dataDir, "blobs"), { recursive: true, withFileTypes: true })).filter((entry) =>
        entry.isFile(),
      ).length;
    const before = await blobFiles();
    const big = await postForm({
      url: post.url,
      fields: post.fields,
      file: { data: randomBytes(3 * 1024 * 1024), name: "big" },
    });
    assert.equal(big.status, 400);
    assert.equal(big.code, "EntityTooLarge");
    const small = await postForm({
      url: post.url,
      fields: post.fields,
      file: { data: "tiny", name: "small" },
    });
    assert.equal(small.status, 400);
    assert.equal(small.code, "EntityTooSmall");
    await assert.rejects(t.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "sized" })), {
      name: "NotFound",
    });
    assert.equal(await blobFiles(), before, "no blob left behind");
  });

  test("expired policy: 403 AccessDenied 'Policy expired.'", async () => {
    const post = grant({ key: "late", now: new Date(Date.now() - 3_600_000), expiresIn: 60, conditions: [] });
    const res = await postForm({ url: post.url, fields: post.fields, file: { data: "x", name: "x" } });
    assert.equal(res.status, 403);
    assert.equal(res.code, "AccessDenied");
    assert.match(res.body, /Invalid according to Policy: Policy expired\./);
  });

  test("tampered policy, signature or credential: 403 SignatureDoesNotMatch", async () => {
    const post = grant({ key: "tamper", conditions: [["content-length-range", 1, 10]] });
    const widened = tamperPolicy(post.fields.Policy as string, (doc) => {
      doc.conditions = doc.conditions.map((c) =>
        Array.isArray(c) && c[0] === "content-length-range" ? ["content-length-range", 1, 1e9] : c,
      );
    });
    const signature = post.fields["X-Amz-Signature"] as string;
    const flipped = (signature[0] === "a" ? "b" : "a") + signature.slice(1);
    for (const fields of [
      { ...post.fields, Policy: widened },
      { ...post.fields, "X-Amz-Signature": flipped },
    ]) {
      const res = await postForm({ url: post.url, fields, file: { data: "x".repeat(100), name: "x" } });
      assert.equal(res.status, 403, res.body);
      assert.equal(res.code, "SignatureDoesNotMatch");
    }
    const wrongSecret = createPresignedPost({
      url: bucketUrl,
      key: "tamper",
      credentials: { ...CREDENTIALS, secretAccessKey: "not-the-secret" },
      region: "us-east-1",
      expiresIn: 60,
    });
    const res = await postForm({
      url: bucketUrl,
      fields: wrongSecret.fields,
      file: { data: "x", name: "x" },
    });
    assert.equal(res.code, "SignatureDoesNotMatch");
  });

  test('conditions: eq, starts-with ("" = anything), exact; a violated one is 403', async () => {
    const post = grant({
      key: "cond/file",
      fields: { "Content-Type": "text/plain", "x-amz-meta-tag": "t1" },
      conditions: [
        ["eq", "$x-amz-meta-tag", "t1"],
        ["starts-with", "$Content-Type", "text/"],
        ["starts-with", "$x-amz-meta-free", ""],
      ],
    });
    const ok = await postForm({
      url: post.url,
      fields: { ...post.fields, "x-amz-meta-free": "anything" },
      file: { data: "x", name: "x" },
    });
    assert.equal(ok.status, 204, ok.body);
    const broken = await postForm({
      url: post.url,
      fields: { ...post.fields, "Content-Type": "image/png" },
      file: { data: "x", name: "x" },
    });
    assert.equal(broken.status, 403);
    assert.equal(broken.code, "AccessDenied");
    assert.match(broken.body, /Policy Condition failed/);
  });

  test("the filename variable is expanded in every field before the policy is checked (an exact key condition names the stored key)", async () => {
    const exact = grant({
      key: "named/exact.txt",
      fields: { "x-amz-meta-original": FILENAME_VARIABLE },
      conditions: [],
    });
    // The form sends the template; the policy's exact conditions name the expanded values.
    const ok = await postForm({
      url: exact.url,
      fields: { ...exact.fields, key: `named/${FILENAME_VARIABLE}` },
      file: { data: "x", name: "exact.txt" },
    });
    assert.equal(ok.status, 403, "x-amz-meta-original expands to exact.txt, not the signed template");
    const signedExpanded = createPresignedPost({
      url: bucketUrl,
      key: "named/exact.txt",
      credentials: CREDENTIALS,
      region: "us-east-1",
      expiresIn: 300,
      fields: { "x-amz-meta-original": "exact.txt" },
    });
    const expanded = await postForm({
      url: bucketUrl,
      fields: {
        ...signedExpanded.fields,
        key: `named/${FILENAME_VARIABLE}`,
        "x-amz-meta-original": FILENAME_VARIABLE,
      },
      file: { data: "x", name: "C:\\Users\\eric\\exact.txt" },
    });
    assert.equal(expanded.status, 204, expanded.body);
    const head = await t.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "named/exact.txt" }));
    assert.equal(head.Metadata?.original, "exact.txt");
  });

  test("a field sent twice counts once, its values joined by a comma", async () => {
    const post = grant({ key: "twice", fields: { "x-amz-meta-tag": "Ninja,Stallman" }, conditions: [] });
    const form = new FormData();
    for (const [name, value] of Object.entries(post.fields))
      if (name !== "x-amz-meta-tag") form.append(name, value);
    form.append("x-amz-meta-tag", "Ninja");
    form.append("x-amz-meta-tag", "Stallman");
    form.append("file", new Blob(["x"]), "x");
    const res = await fetch(post.url, { method: "POST", body: form });
    assert.equal(res.status, 204, await res.text());
    const head = await t.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "twice" }));
    assert.equal(head.Metadata?.tag, "Ninja,Stallman");
  });

  test("every field must be covered by the policy, except x-ignore-*; fields after the file are ignored", async () => {
    const post = grant({ key: "cover", conditions: [] });
    const extra = await postForm({
      url: post.url,
      fields: { ...post.fields, "x-amz-meta-sneaky": "1" },
      file: { data: "x", name: "x" },
    });
    assert.equal(extra.status, 403);
    assert.match(extra.body, /Extra input fields: x-amz-meta-sneaky/);
    const ignored = await postForm({
      url: post.url,
      fields: { ...post.fields, "x-ignore-tracking": "1" },
      file: { data: "x", name: "x" },
      after: { "x-amz-meta-late": "not covered, but after the file", key: "elsewhere" },
    });
    assert.equal(ignored.status, 204, ignored.body);
    const head = await t.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "cover" }));
    assert.equal(head.Metadata?.late, undefined);
  });

  test("a policy for another bucket is refused", async () => {
    const post = grant({ key: "x", conditions: [] });
    const res = await postForm({
      url: `${t.endpoint}/other`,
      fields: post.fields,
      file: { data: "x", name: "x" },
    });
    assert.equal(res.status, 403);
    // S3 reports a simple condition as the eq it stands for.
    assert.match(res.body, /Policy Condition failed: \[&#34;eq&#34;,&#34;\$bucket&#34;,&#34;forms&#34;\]/);
  });

  test("hostile forms: oversized field, oversized total, no file, no key, bad policy, not multipart: 4xx, never 500", async () => {
    const post = grant({ key: "hostile", conditions: [] });
    const cases: Array<[string, Promise<{ status: number; code: string }>, number, string]> = [
      [
        "a 30 KB field",
        postForm({
          url: post.url,
          fields: { ...post.fields, "x-ignore-big": "x".repeat(30 * 1024) },
          file: { data: "x", name: "x" },
        }),
        400,
        "MaxPostPreDataLengthExceededError",
      ],
      [
        "1.2 MB of fields",
        postForm({
          url: post.url,
          fields: {
            ...post.fields,
            ...Object.fromEntries(
              Array.from({ length: 70 }, (_, i) => [`x-ignore-${i}`, "y".repeat(18 * 1024)]),
            ),
          },
          file: { data: "x", name: "x" },
        }),
        400,
        "MaxPostPreDataLengthExceededError",
      ],
      ["no file", postForm({ url: post.url, fields: post.fields }), 400, "InvalidArgument"],
      [
        "no key",
        postForm({ url: post.url, fields: { ...post.fields, key: "" }, file: { data: "x", name: "x" } }),
        400,
        "InvalidArgument",
      ],
      [
        "policy not JSON",
        postForm({
          url: post.url,
          fields: { ...post.fields, Policy: "bm90IGpzb24=" },
          file: { data: "x", name: "x" },
        }),
        403,
        "SignatureDoesNotMatch",
      ],
    ];
    for (const [label, pending, status, code] of cases) {
      const res = await pending;
      assert.equal(res.status, status, label);
      assert.equal(res.code, code, label);
    }
    const garbage = await fetch(bucketUrl, {
      method: "POST",
      headers: { "content-type": "multipart/form-data; boundary=zzz" },
      body: '--zzz\r\nContent-Disposition: form-data; name="key"\r\n\r\nk\r\n--zzz-garbage',
    });
    assert.ok(garbage.status >= 400 && garbage.status < 500, `garbage form: ${garbage.status}`);
    const noBoundary = await fetch(bucketUrl, {
      method: "POST",
      headers: { "content-type": "multipart/form-data" },
      body: "x",
    });
    assert.equal(noBoundary.status, 400);
    // The store still serves.
    await t.s3.send(new PutObjectCommand({ Bucket: bucket, Key: "after-hostile", Body: "ok" }));
    const got = await t.s3.send(new GetObjectCommand({ Bucket: bucket, Key: "after-hostile" }));
    assert.equal(await got.Body?.transformToString(), "ok");
  });

  test("acl=public-read in the form makes the object readable anonymously", async () => {
    const post = grant({
      key: "public/avatar.png",
      fields: { acl: "public-read", "Content-Type": "image/png" },
      conditions: [],
    });
    const res = await postForm({ url: post.url, fields: post.fields, file: { data: "png", name: "a.png" } });
    assert.equal(res.status, 204, res.body);
    const anonymous = await fetch(`${bucketUrl}/public/avatar.png`);
    assert.equal(anonymous.status, 200);
    assert.equal(await anonymous.text(), "png");
    const privateOne = await fetch(`${bucketUrl}/uploads/cat.png`);
    assert.equal(privateOne.status, 403);
  });

  test("a policy signed with Signature V2 is refused while allowSignatureV2 is off", async () => {
    const policy = Buffer.from(
      JSON.stringify({
        expiration: new Date(Date.now() + 60_000).toISOString(),
        conditions: [{ bucket }, { key: "v2" }],
      }),
    ).toString("base64");
    const res = await postForm({
      url: bucketUrl,
      fields: {
        key: "v2",
        AWSAccessKeyId: CREDENTIALS.accessKeyId,
        policy,
        signature: signV2(CREDENTIALS.secretAccessKey, policy),
      },
      file: { data: "x", name: "x" },
    });
    assert.equal(res.status, 403);
    assert.equal(res.code, "AccessDenied");
  });

  const python = binaryTier("/usr/bin/python3", "python3-boto3");
  const curl = binaryTier("/usr/bin/curl", "curl");
  test("boto3 generate_presigned_post + curl -F", {
    skip: python.available && curl.available ? false : "python3-boto3 or curl missing",
  }, async () => {
    const script = `
import boto3, json, sys
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url=sys.argv[1], aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3],
                  region_name="us-east-1", config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
print(json.dumps(s3.generate_presigned_post("forms", "boto/\${filename}", Fields={"Content-Type": "text/plain"},
      Conditions=[["content-length-range", 1, 100], ["starts-with", "$Content-Type", "text/"], ["starts-with", "$key", "boto/"]], ExpiresIn=120)))
`;
    const { stdout } = await run(
      "/usr/bin/python3",
      ["-c", script, t.endpoint, CREDENTIALS.accessKeyId, CREDENTIALS.secretAccessKey],
      {
        env: {
          PATH: process.env.PATH ?? "",
          AWS_CONFIG_FILE: "/dev/null",
          AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
          AWS_EC2_METADATA_DISABLED: "true",
        },
      },
    );
    const post = JSON.parse(stdout) as { url: string; fields: Record<string, string> };
    const file = join(t.dataDir, "boto-upload.txt");
    await writeFile(file, "from boto3");
    const args = ["-sS", "-o", "/dev/null", "-w", "%{http_code}"];
    for (const [name, value] of Object.entries(post.fields)) args.push("--form-string", `${name}=${value}`);
    args.push("-F", `file=@${file};filename=boto.txt`, post.url);
    const { stdout: status } = await run("/usr/bin/curl", args);
    assert.equal(status, "204");
    const got = await t.s3.send(new GetObjectCommand({ Bucket: bucket, Key: "boto/boto.txt" }));
    assert.equal(got.ContentType, "text/plain");
    assert.equal(await got.Body?.transformToString(), "from boto3");
  });
});
