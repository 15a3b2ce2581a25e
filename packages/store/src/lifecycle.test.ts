import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  CreateMultipartUploadCommand,
  DeleteBucketLifecycleCommand,
  GetBucketLifecycleConfigurationCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  PutBucketLifecycleConfigurationCommand,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import { signedRequest } from "./conformance/http.ts";
import { expectS3Error } from "./conformance/objects.ts";
import { CREDENTIALS, openTestStore, type TestStore } from "./test/harness.ts";

// A lifecycle "day" is 400 ms here and the sweeper runs every 100 ms.
const DAY_MS = 400;

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe("lifecycle (configuration and the sweeper)", () => {
  let t: TestStore;
  const bucket = "lifecycle";
  before(async () => {
    t = await openTestStore({ buckets: [bucket, "plain"], lifecycleIntervalMs: 100, dayMs: DAY_MS });
  });
  after(() => t.close());

  const exists = async (key: string) => {
    try {
      await t.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return true;
    } catch {
      return false;
    }
  };

  test("Put/Get/DeleteBucketLifecycleConfiguration round-trip; 404 NoSuchLifecycleConfiguration without one", async () => {
    await expectS3Error(
      t.s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: "plain" })),
      404,
      "NoSuchLifecycleConfiguration",
    );
    await t.s3.send(
      new PutBucketLifecycleConfigurationCommand({
        Bucket: "plain",
        LifecycleConfiguration: {
          Rules: [
            {
              ID: "later",
              Status: "Disabled",
              Filter: { Prefix: "x/" },
              Expiration: { Days: 30 },
              AbortIncompleteMultipartUpload: { DaysAfterInitiation: 2 },
            },
          ],
        },
      }),
    );
    const got = await t.s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: "plain" }));
    assert.equal(got.Rules?.length, 1);
    assert.equal(got.Rules?.[0]?.ID, "later");
    assert.equal(got.Rules?.[0]?.Status, "Disabled");
    assert.equal(got.Rules?.[0]?.Filter?.Prefix, "x/");
    assert.equal(got.Rules?.[0]?.Expiration?.Days, 30);
    assert.equal(got.Rules?.[0]?.AbortIncompleteMultipartUpload?.DaysAfterInitiation, 2);
    await t.s3.send(new DeleteBucketLifecycleCommand({ Bucket: "plain" }));
    await expectS3Error(t.s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: "plain" })), 404);
  });

  test("Expiration removes objects under the prefix once older than Days; others stay", async () => {
    await t.s3.send(new PutObjectCommand({ Bucket: bucket, Key: "tmp/old.txt", Body: "old" }));
    await t.s3.send(new PutObjectCommand({ Bucket: bucket, Key: "keep/forever.txt", Body: "keep" }));
    await t.s3.send(
      new PutBucketLifecycleConfigurationCommand({
        Bucket: bucket,
        LifecycleConfiguration: {
          Rules: [
            { ID: "tmp", Status: "Enabled", Filter: { Prefix: "tmp/" }, Expiration: { Days: 1 } },
            {
              ID: "uploads",
              Status: "Enabled",
              Filter: { Prefix: "" },
              AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
            },
          ],
        },
      }),
    );
    await t.s3.send(new PutObjectCommand({ Bucket: bucket, Key: "tmp/new.txt", Body: "new" }));
    assert.equal(await exists("tmp/new.txt"), true, "younger than a day: kept");
    await until("tmp/old.txt to expire", async () => !(await exists("tmp/old.txt")));
    await until("tmp/new.txt to expire", async () => !(await exists("tmp/new.txt")));
    assert.equal(await exists("keep/forever.txt"), true);
  });

  test("AbortIncompleteMultipartUpload aborts uploads older than DaysAfterInitiation", async () => {
    const { UploadId } = await t.s3.send(
      new CreateMultipartUploadCommand({ Bucket: bucket, Key: "big/file.bin" }),
    );
    const listed = async () =>
      (await t.s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads?.map(
        (u) => u.UploadId,
      ) ?? [];
    assert.deepEqual(await listed(), [UploadId]);
    await until("the upload to be aborted", async () => (await listed()).length === 0);
  });

  test("hostile configurations: malformed XML 400, Days 0 400, Transition 501, store keeps serving", async () => {
    const target = { endpoint: t.endpoint, region: "us-east-1", credentials: CREDENTIALS } as never;
    const rule = (inner: string) =>
      `<LifecycleConfiguration><Rule><ID>r</ID><Filter><Prefix>p/</Prefix></Filter><Status>Enabled</Status>${inner}</Rule></LifecycleConfiguration>`;
    const cases: Array<[string, number, string]> = [
      ["<LifecycleConfiguration><Rule>", 400, "MalformedXML"],
      ["<LifecycleConfiguration></LifecycleConfiguration>", 400, "MalformedXML"],
      [rule(""), 400, "MalformedXML"],
      [rule("<Expiration><Days>0</Days></Expiration>"), 400, "InvalidArgument"],
      [rule("<Expiration><Days>abc</Days></Expiration>"), 400, "InvalidArgument"],
      [
        rule("<Expiration><Days>1</Days></Expiration>").replace(
          "<Status>Enabled</Status>",
          "<Status>Maybe</Status>",
        ),
        400,
        "MalformedXML",
      ],
      [
        rule("<Transition><Days>1</Days><StorageClass>GLACIER</StorageClass></Transition>"),
        501,
        "NotImplemented",
      ],
    ];
    for (const [body, status, code] of cases) {
      const res = await signedRequest(target, { method: "PUT", path: "/plain?lifecycle", body });
      assert.equal(res.status, status, body);
      assert.equal(res.code, code, body);
    }
    await expectS3Error(t.s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: "plain" })), 404);
    await t.s3.send(new PutObjectCommand({ Bucket: "plain", Key: "still", Body: "serving" }));
  });
});
