import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isSluiceError } from "@sluice/core";
import { hmacSha256 } from "./encoding.ts";
import { FILENAME_VARIABLE } from "./post-policy.ts";
import { checkPostPolicy, expandFormFields, type PostPolicyCheckOptions } from "./post-policy-check.ts";
import { deriveSigningKey } from "./signing-key.ts";
import { signV2 } from "./sigv2.ts";

// AWS's example credentials, used by every documented vector below.
const KEY = "AKIAIOSFODNN7EXAMPLE";
const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const BUCKET = "sigv4examplebucket";
const NOW = new Date("2015-12-29T12:00:00Z");
const CREDENTIAL = `${KEY}/20151229/us-east-1/s3/aws4_request`;
const AUTH_CONDITIONS = [
  { "x-amz-credential": CREDENTIAL },
  { "x-amz-algorithm": "AWS4-HMAC-SHA256" },
  { "x-amz-date": "20151229T000000Z" },
];

const secretFor = (id: string) => (id === KEY ? SECRET : undefined);
const signV4 = (policy: string) =>
  hmacSha256(
    deriveSigningKey({ secretAccessKey: SECRET, date: "20151229", region: "us-east-1", service: "s3" }),
    policy,
  ).toString("hex");
const encode = (document: unknown) => Buffer.from(JSON.stringify(document), "utf8").toString("base64");

/** A SigV4-signed form: `fields` (lower-case names) plus the auth fields and the signed `policy` text. */
function form(policy: string, fields: Record<string, string> = {}): Map<string, string> {
  return new Map(
    Object.entries({
      ...fields,
      "x-amz-credential": CREDENTIAL,
      "x-amz-algorithm": "AWS4-HMAC-SHA256",
      "x-amz-date": "20151229T000000Z",
      policy,
      "x-amz-signature": signV4(policy),
    }),
  );
}

/** Checks `fields` against a policy with `conditions` (the auth ones added) expiring a day after NOW. */
function check(
  conditions: unknown[],
  fields: Record<string, string> = {},
  overrides: Partial<PostPolicyCheckOptions> = {},
) {
  const policy = encode({
    expiration: "2015-12-30T12:00:00.000Z",
    conditions: [{ bucket: BUCKET }, ...conditions, ...AUTH_CONDITIONS],
  });
  return checkPostPolicy({
    fields: form(policy, fields),
    bucket: BUCKET,
    secretFor,
    region: "us-east-1",
    now: NOW,
    ...overrides,
  });
}

/** Asserts a SluiceError with this status and code (never another exception) and returns its message. */
function refused(status: number, code: string, fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(isSluiceError(error), `expected a SluiceError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.equal(error.status, status);
    return error.message;
  }
  assert.fail(`expected ${status} ${code}, but the form was accepted`);
}

describe("checkPostPolicy: documented vectors", () => {
  // S3 API reference, "Example: Browser-Based Upload using HTTP POST (Using AWS Signature Version 4)":
  // the policy as given there (CRLF line ends, 864 base64 characters) and its stated signature.
  const AWS_POLICY =
    "eyAiZXhwaXJhdGlvbiI6ICIyMDE1LTEyLTMwVDEyOjAwOjAwLjAwMFoiLA0KICAiY29uZGl0aW9ucyI6IFsNCiAgICB7ImJ1Y2tldCI6ICJzaWd2NGV4YW1wbGVidWNrZXQifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRrZXkiLCAidXNlci91c2VyMS8iXSwNCiAgICB7ImFjbCI6ICJwdWJsaWMtcmVhZCJ9LA0KICAgIHsic3VjY2Vzc19hY3Rpb25fcmVkaXJlY3QiOiAiaHR0cDovL3NpZ3Y0ZXhhbXBsZWJ1Y2tldC5zMy5hbWF6b25hd3MuY29tL3N1Y2Nlc3NmdWxfdXBsb2FkLmh0bWwifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRDb250ZW50LVR5cGUiLCAiaW1hZ2UvIl0sDQogICAgeyJ4LWFtei1tZXRhLXV1aWQiOiAiMTQzNjUxMjM2NTEyNzQifSwNCiAgICB7IngtYW16LXNlcnZlci1zaWRlLWVuY3J5cHRpb24iOiAiQUVTMjU2In0sDQogICAgWyJzdGFydHMtd2l0aCIsICIkeC1hbXotbWV0YS10YWciLCAiIl0sDQoNCiAgICB7IngtYW16LWNyZWRlbnRpYWwiOiAiQUtJQUlPU0ZPRE5ON0VYQU1QTEUvMjAxNTEyMjkvdXMtZWFzdC0xL3MzL2F3czRfcmVxdWVzdCJ9LA0KICAgIHsieC1hbXotYWxnb3JpdGhtIjogIkFXUzQtSE1BQy1TSEEyNTYifSwNCiAgICB7IngtYW16LWRhdGUiOiAiMjAxNTEyMjlUMDAwMDAwWiIgfQ0KICBdDQp9";
  const AWS_SIGNATURE = "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e";
  const awsForm = (edit: Record<string, string> = {}) =>
    expandFormFields(
      new Map(
        Object.entries({
          key: `user/user1/${FILENAME_VARIABLE}`,
          acl: "public-read",
          success_action_redirect: "http://sigv4examplebucket.s3.amazonaws.com/successful_upload.html",
          "content-type": "image/jpeg",
          "x-amz-meta-uuid": "14365123651274",
          "x-amz-server-side-encryption": "AES256",
          "x-amz-credential": CREDENTIAL,
          "x-amz-algorithm": "AWS4-HMAC-SHA256",
          "x-amz-date": "20151229T000000Z",
          "x-amz-meta-tag": "",
          policy: AWS_POLICY,
          "x-amz-signature": AWS_SIGNATURE,
          ...edit,
        }),
      ),
      "MyPicture.jpg",
    );
  const options = { bucket: BUCKET, secretFor, region: "us-east-1", now: NOW };

  test("AWS's SigV4 POST example: our HMAC equals the documented signature and its form passes", () => {
    assert.equal(signV4(AWS_POLICY), AWS_SIGNATURE);
    assert.deepEqual(checkPostPolicy({ fields: awsForm(), ...options }), {
      accessKeyId: KEY,
      scheme: "sigv4",
    });
  });

  test("AWS's example with one field changed: each documented condition holds the form", () => {
    for (const [name, value] of Object.entries({
      key: "user/user2/MyPicture.jpg",
      acl: "private",
      success_action_redirect: "http://example.com/",
      "content-type": "text/html",
      "x-amz-meta-uuid": "1",
      "x-amz-server-side-encryption": "aws:kms",
    }))
      assert.match(
        refused(403, "AccessDenied", () =>
          checkPostPolicy({ fields: awsForm({ [name]: value }), ...options }),
        ),
        /Policy Condition failed/,
        name,
      );
    refused(403, "AccessDenied", () =>
      checkPostPolicy({ fields: awsForm(), ...options, bucket: "otherbucket" }),
    );
    refused(403, "AccessDenied", () =>
      checkPostPolicy({ fields: awsForm(), ...options, now: new Date("2015-12-30T12:00:00.001Z") }),
    );
  });

  test("botocore generate_presigned_post (clock at 2015-12-29T00:00:00Z): the policy and signature it sends pass", () => {
    const policy =
      "eyJleHBpcmF0aW9uIjogIjIwMTUtMTItMjlUMDE6MDA6MDBaIiwgImNvbmRpdGlvbnMiOiBbeyJidWNrZXQiOiAic2lndjRleGFtcGxlYnVja2V0In0sIHsia2V5IjogInVzZXIvdXNlcjEvcGhvdG8uanBnIn0sIHsieC1hbXotYWxnb3JpdGhtIjogIkFXUzQtSE1BQy1TSEEyNTYifSwgeyJ4LWFtei1jcmVkZW50aWFsIjogIkFLSUFJT1NGT0ROTjdFWEFNUExFLzIwMTUxMjI5L3VzLWVhc3QtMS9zMy9hd3M0X3JlcXVlc3QifSwgeyJ4LWFtei1kYXRlIjogIjIwMTUxMjI5VDAwMDAwMFoifV19";
    const fields = form(policy, { key: "user/user1/photo.jpg" });
    assert.equal(
      fields.get("x-amz-signature"),
      "3364624b39010d9b06f5d9b8c9a18a6e478d261c048159c92f2fd6fa885f14e6",
    );
    const at = new Date("2015-12-29T00:30:00Z");
    assert.equal(checkPostPolicy({ fields, ...options, now: at }).accessKeyId, KEY);
  });
});

describe("checkPostPolicy: conditions", () => {
  test("exact {field: value}: equal passes; another value is 403, reported as the eq it stands for", () => {
    check([{ acl: "public-read" }], { acl: "public-read" });
    const message = refused(403, "AccessDenied", () => check([{ acl: "public-read" }], { acl: "private" }));
    assert.equal(
      message,
      'Invalid according to Policy: Policy Condition failed: ["eq","$acl","public-read"]',
    );
  });

  test('["eq", "$f", v]: equal passes; values are case-sensitive; an absent field is ""', () => {
    check([["eq", "$acl", "public-read"]], { acl: "public-read" });
    refused(403, "AccessDenied", () => check([["eq", "$acl", "public-read"]], { acl: "Public-Read" }));
    refused(403, "AccessDenied", () => check([["eq", "$x-amz-meta-a", "x"]]));
    check([["eq", "$x-amz-meta-a", ""]]);
  });

  test('["starts-with", "$f", prefix]: the prefix must lead, case-sensitively; "" allows anything', () => {
    check([["starts-with", "$key", "user/"]], { key: "user/a.txt" });
    check([["starts-with", "$key", "user/"]], { key: "user/" });
    refused(403, "AccessDenied", () => check([["starts-with", "$key", "user/"]], { key: "User/a.txt" }));
    refused(403, "AccessDenied", () => check([["starts-with", "$key", "user/"]], { key: "other/user/" }));
    check([["starts-with", "$success_action_redirect", ""]], { success_action_redirect: "http://any/" });
    check([["starts-with", "$success_action_redirect", ""]], { success_action_redirect: "" });
    // Absent: nothing to restrict (what Ceph RGW does; S3 was once seen refusing it).
    check([["starts-with", "$x-amz-meta-tag", ""]]);
  });

  test("starts-with on Content-Type reads a comma list: every entry must match; other fields are plain strings", () => {
    const imagesOnly = ["starts-with", "$Content-Type", "image/"];
    check([imagesOnly], { "content-type": "image/jpg,image/png,image/gif" });
    refused(403, "AccessDenied", () => check([imagesOnly], { "content-type": "image/jpg,text/plain" }));
    refused(403, "AccessDenied", () => check([imagesOnly], { "content-type": "image/jpg,,image/png" }));
    check([["starts-with", "$x-amz-meta-tag", "a"]], { "x-amz-meta-tag": "a,b" });
    check([["eq", "$content-type", "image/jpg,text/plain"]], { "content-type": "image/jpg,text/plain" });
  });

  test("content-length-range: bounds returned for the streamed file, inclusive; min = max and 0 allowed; digit strings accepted", () => {
    assert.deepEqual(check([["content-length-range", 0, 0]]).contentLengthRange, { min: 0, max: 0 });
    assert.deepEqual(check([["content-length-range", 5, 5]]).contentLengthRange, { min: 5, max: 5 });
    assert.deepEqual(check([["content-length-range", "5", "10"]]).contentLengthRange, { min: 5, max: 10 });
    assert.equal(check([]).contentLengthRange, undefined);
    // Several ranges must all hold: their intersection.
    assert.deepEqual(
      check([
        ["content-length-range", 0, 100],
        ["content-length-range", 50, 1000],
      ]).contentLengthRange,
      { min: 50, max: 100 },
    );
  });

  test("content-length-range malformed: 400 InvalidPolicyDocument; a non-numeric string is a failed condition (403)", () => {
    for (const condition of [
      ["content-length-range", 0],
      ["content-length-range", -1, 0],
      ["content-length-range", 1.5, 2],
      ["content-length-range", 10, 5],
      ["content-length-range", 0, 2 ** 60],
      ["content-length-range", null, 5],
      ["content-length-range", 0, 10, 20],
    ])
      refused(400, "InvalidPolicyDocument", () => check([condition]));
    refused(403, "AccessDenied", () => check([["content-length-range", "test", "10"]]));
    refused(403, "AccessDenied", () => check([["content-length-range", "-1", "10"]]));
  });

  test("operators, $names and condition keys are case-insensitive (form names arrive lower-cased)", () => {
    const result = check(
      [
        { bUcKeT: BUCKET },
        ["StArTs-WiTh", "$KeY", "foo"],
        { AcL: "private" },
        ["EQ", "$CoNtEnT-TyPe", "text/plain"],
        ["Content-Length-Range", 0, 10],
      ],
      { key: "foo.txt", acl: "private", "content-type": "text/plain" },
    );
    assert.deepEqual(result.contentLengthRange, { min: 0, max: 10 });
  });

  test("bucket is checked against the bucket posted to, not a form field", () => {
    refused(403, "AccessDenied", () => check([], {}, { bucket: "otherbucket" }));
    refused(403, "AccessDenied", () =>
      check([["starts-with", "$bucket", "other"]], { bucket: "otherbucket" }),
    );
    check([["starts-with", "$bucket", "sigv4"]]);
  });
});

describe("checkPostPolicy: every form field covered", () => {
  const fields = {
    key: "user/a.txt",
    acl: "public-read",
    "content-type": "image/png",
    "cache-control": "no-cache",
    "content-disposition": "inline",
    "content-encoding": "gzip",
    expires: "Thu, 01 Dec 1994 16:00:00 GMT",
    success_action_status: "201",
    success_action_redirect: "http://example.com/",
    redirect: "http://example.com/",
    "x-amz-meta-owner": "alice",
    "x-amz-storage-class": "STANDARD",
    "x-amz-security-token": "token",
    tagging: "<Tagging/>",
    "content-md5": "1B2M2Y8AsgTpgAmY7PhCfg==",
    awsaccesskeyid: KEY,
  };
  const conditions = Object.entries(fields).map(([name, value]) => ({ [name]: value }));

  test("a form whose every field has a condition passes", () => {
    check(conditions, fields);
  });

  test("dropping the condition of any one field is 403 'Extra input fields: <name>'", () => {
    for (const name of Object.keys(fields)) {
      const message = refused(403, "AccessDenied", () =>
        check(
          conditions.filter((condition) => !(name in condition)),
          fields,
        ),
      );
      assert.equal(message, `Invalid according to Policy: Extra input fields: ${name}`);
    }
  });

  test("the signed auth fields must be covered too (x-amz-credential, x-amz-algorithm, x-amz-date)", () => {
    const policy = encode({
      expiration: "2015-12-30T12:00:00Z",
      conditions: [AUTH_CONDITIONS[0], AUTH_CONDITIONS[1]],
    });
    refused(403, "AccessDenied", () =>
      checkPostPolicy({ fields: form(policy), bucket: BUCKET, secretFor, region: "us-east-1", now: NOW }),
    );
  });

  test("x-ignore-* fields, policy and x-amz-signature need no condition", () => {
    check([], { "x-ignore-filename": "a.txt", "x-ignore-": "" });
  });

  test("SigV2 exempts signature and awsaccesskeyid instead of x-amz-signature", () => {
    const policy = encode({ expiration: "2015-12-30T12:00:00Z", conditions: [{ bucket: BUCKET }] });
    const v2 = (extra: Record<string, string>) =>
      checkPostPolicy({
        fields: new Map(
          Object.entries({ policy, awsaccesskeyid: KEY, signature: signV2(SECRET, policy), ...extra }),
        ),
        bucket: BUCKET,
        secretFor,
        region: "us-east-1",
        allowSignatureV2: true,
        now: NOW,
      });
    assert.equal(v2({}).scheme, "sigv2");
    refused(403, "AccessDenied", () => v2({ "x-amz-meta-a": "x" }));
  });
});

describe(`${FILENAME_VARIABLE} expansion`, () => {
  test("expandFormFields puts the file's base name in every field; no name gives an empty string", () => {
    const fields = new Map([
      ["key", `user/${FILENAME_VARIABLE}`],
      ["x-amz-meta-name", `${FILENAME_VARIABLE}:${FILENAME_VARIABLE}`],
      ["acl", "private"],
    ]);
    for (const [filename, base] of [
      ["a.txt", "a.txt"],
      ["C:\\Program Files\\directory1\\file.txt", "file.txt"],
      ["/home/eric/p.png", "p.png"],
      ["dir/", ""],
      ["", ""],
    ] as const) {
      const expanded = expandFormFields(fields, filename);
      assert.equal(expanded.get("key"), `user/${base}`);
      assert.equal(expanded.get("x-amz-meta-name"), `${base}:${base}`);
      assert.equal(expanded.get("acl"), "private");
    }
  });

  test("conditions match the expanded key, as the S3 docs say, never the filename template", () => {
    const fields = Object.fromEntries(
      expandFormFields(new Map([["key", `user/${FILENAME_VARIABLE}`]]), "a.txt"),
    );
    check([["starts-with", "$key", "user/"]], fields);
    check([{ key: "user/a.txt" }], fields);
    refused(403, "AccessDenied", () => check([{ key: `user/${FILENAME_VARIABLE}` }], fields));
    refused(403, "AccessDenied", () => check([["starts-with", "$key", "other/"]], fields));
  });
});

describe("checkPostPolicy: expiration", () => {
  const withExpiration = (expiration: unknown, now = NOW) => {
    const policy = encode({ expiration, conditions: [{ bucket: BUCKET }, ...AUTH_CONDITIONS] });
    return checkPostPolicy({ fields: form(policy), bucket: BUCKET, secretFor, region: "us-east-1", now });
  };

  test("ISO 8601 UTC with or without fractional seconds is read; the instant itself is still valid", () => {
    for (const expiration of [
      "2015-12-30T12:00:00.000Z",
      "2015-12-30T12:00:00Z",
      "2015-12-30T12:00:00.5Z",
      "2015-12-30T12:00:00.123456789Z",
      "2016-02-29T00:00:00Z",
    ])
      withExpiration(expiration);
    withExpiration("2015-12-29T12:00:00.000Z");
    refused(403, "AccessDenied", () => withExpiration("2015-12-29T11:59:59.999Z"));
    assert.match(
      refused(403, "AccessDenied", () => withExpiration("2015-12-29T11:59:59Z")),
      /Policy expired\./,
    );
  });

  test("an offset, a space, a bare date, a day that does not exist or a non-string is 400 InvalidPolicyDocument", () => {
    for (const expiration of [
      "2015-12-30T12:00:00+00:00",
      "2015-12-30T14:00:00+02:00",
      "2015-12-30 12:00:00Z",
      "2015-12-30 12:00:00 UTC",
      "2015-12-30",
      "2015-12-30T12:00:00",
      "2015-12-30T12:00:00z",
      "2015-02-30T12:00:00Z",
      "2015-12-30T24:00:00Z",
      "2015-12-30T12:00:60Z",
      "Wed, 30 Dec 2015 12:00:00 GMT",
      "",
      1451476800000,
      null,
    ])
      refused(400, "InvalidPolicyDocument", () => withExpiration(expiration));
  });

  test("missing expiration or conditions, or keys in another case, are 400", () => {
    const signed = (document: unknown) => {
      const policy = encode(document);
      return () =>
        checkPostPolicy({ fields: form(policy), bucket: BUCKET, secretFor, region: "us-east-1", now: NOW });
    };
    const conditions = [{ bucket: BUCKET }, ...AUTH_CONDITIONS];
    assert.match(refused(400, "InvalidPolicyDocument", signed({ conditions })), /missing expiration/);
    assert.match(
      refused(400, "InvalidPolicyDocument", signed({ expiration: "2015-12-30T12:00:00Z" })),
      /missing conditions/,
    );
    refused(400, "InvalidPolicyDocument", signed({ EXPIRATION: "2015-12-30T12:00:00Z", conditions }));
    refused(
      400,
      "InvalidPolicyDocument",
      signed({ expiration: "2015-12-30T12:00:00Z", CONDITIONS: conditions }),
    );
    refused(
      400,
      "InvalidPolicyDocument",
      signed({ expiration: "2015-12-30T12:00:00Z", conditions, Statement: [] }),
    );
    refused(400, "InvalidPolicyDocument", signed({ expiration: "2015-12-30T12:00:00Z", conditions: {} }));
  });
});

describe("checkPostPolicy: malformed policies are a SluiceError with S3's code, never another exception", () => {
  const signedRaw = (policy: string) => () =>
    checkPostPolicy({ fields: form(policy), bucket: BUCKET, secretFor, region: "us-east-1", now: NOW });

  test("text that is not base64, or base64 that is not a JSON object: 400", () => {
    for (const policy of ["not base64!", "e30=}", Buffer.from("{not json").toString("base64")])
      refused(400, "InvalidPolicyDocument", signedRaw(policy));
    for (const document of ["[]", "null", "42", '"text"', '{"expiration": "2015-12-30T12:00:00Z",}'])
      refused(400, "InvalidPolicyDocument", signedRaw(Buffer.from(document).toString("base64")));
  });

  test("conditions of the wrong shape, unknown operators and non-string values: 400", () => {
    for (const condition of [
      [],
      ["eq"],
      ["eq", "$acl"],
      ["eq", "$acl", "private", "extra"],
      ["ends-with", "$key", "a"],
      ["in", "$key", ["a"]],
      [1, 2, 3],
      [null, "$acl", "private"],
      ["eq", "$acl", 1],
      ["eq", "$acl", null],
      ["eq", "$acl", ["private"]],
      ["eq", 5, "private"],
      ["starts-with", "$key", { prefix: "a" }],
      {},
      { acl: "private", key: "a" },
      { acl: 1 },
      { acl: true },
      { acl: null },
      { acl: ["private"] },
      "acl",
      42,
      null,
      true,
    ])
      refused(400, "InvalidPolicyDocument", () => check([condition], { acl: "private" }));
  });

  test("a condition naming a field without '$' cannot hold: 403", () => {
    refused(403, "AccessDenied", () => check([["eq", "acl", "private"]], { acl: "private" }));
  });

  test("huge and deeply nested policies are refused or checked, never crash", () => {
    let deep = "1";
    for (let i = 0; i < 200_000; i++) deep = `[${deep}]`;
    refused(
      400,
      "InvalidPolicyDocument",
      signedRaw(Buffer.from(`{"expiration":"2015-12-30T12:00:00Z","conditions":${deep}}`).toString("base64")),
    );
    const many = Array.from({ length: 100_000 }, (_, i) => ["starts-with", `$x-amz-meta-${i}`, ""]);
    assert.equal(check(many).accessKeyId, KEY);
    const message = refused(400, "InvalidPolicyDocument", () => check([["x".repeat(1_000_000), "$a", "b"]]));
    assert.ok(message.length < 200, "the message does not echo the whole policy");
  });
});

describe("checkPostPolicy: signature and credential", () => {
  const policy = encode({
    expiration: "2015-12-30T12:00:00Z",
    conditions: [{ bucket: BUCKET }, ...AUTH_CONDITIONS],
  });
  const run =
    (edit: Record<string, string | undefined>, overrides: Partial<PostPolicyCheckOptions> = {}) =>
    () => {
      const fields = form(policy);
      for (const [name, value] of Object.entries(edit))
        if (value === undefined) fields.delete(name);
        else fields.set(name, value);
      return checkPostPolicy({
        fields,
        bucket: BUCKET,
        secretFor,
        region: "us-east-1",
        now: NOW,
        ...overrides,
      });
    };

  test("a valid form passes; a changed policy or signature is 403 SignatureDoesNotMatch", () => {
    assert.equal(run({})().accessKeyId, KEY);
    refused(403, "SignatureDoesNotMatch", run({ policy: `${policy} ` }));
    refused(403, "SignatureDoesNotMatch", run({ "x-amz-signature": "0".repeat(64) }));
    refused(403, "SignatureDoesNotMatch", run({ "x-amz-signature": "short" }));
  });

  test("unknown key 403; wrong region, algorithm, credential shape or X-Amz-Date 400; no policy or signature 400", () => {
    refused(
      403,
      "InvalidAccessKeyId",
      run({ "x-amz-credential": "AKIDUNKNOWN/20151229/us-east-1/s3/aws4_request" }),
    );
    refused(400, "InvalidArgument", run({}, { region: "eu-west-1" }));
    refused(400, "InvalidArgument", run({ "x-amz-algorithm": "AWS4-HMAC-SHA1" }));
    refused(400, "InvalidArgument", run({ "x-amz-credential": `${KEY}/20151229/us-east-1/s3` }));
    refused(400, "InvalidArgument", run({ "x-amz-date": "2015-12-29T00:00:00Z" }));
    refused(400, "InvalidArgument", run({ "x-amz-date": "20151230T000000Z" }));
    refused(400, "InvalidArgument", run({ policy: undefined }));
    refused(400, "InvalidArgument", run({ "x-amz-signature": undefined }));
  });

  test("a V2 signature is 403 while V2 is off", () => {
    const fields = new Map([
      ["policy", policy],
      ["awsaccesskeyid", KEY],
      ["signature", signV2(SECRET, policy)],
    ]);
    const options = { fields, bucket: BUCKET, secretFor, region: "us-east-1", now: NOW };
    refused(403, "AccessDenied", () => checkPostPolicy(options));
    refused(403, "SignatureDoesNotMatch", () =>
      checkPostPolicy({
        ...options,
        allowSignatureV2: true,
        fields: new Map([...fields, ["signature", "x"]]),
      }),
    );
  });
});
