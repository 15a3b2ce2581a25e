import assert from "node:assert/strict";
import { test } from "node:test";
import { iamPolicy } from "./admin.ts";

test("the IAM policy is limited to the profiles' prefixes when all have one", () => {
  const policy = iamPolicy({
    bucket: "files",
    profiles: { avatar: { keyPrefix: "avatars" }, doc: { keyPrefix: "docs" } },
    setup: false,
  });
  const [objects, bucket] = policy.Statement;
  assert.deepEqual(objects?.Resource, ["arn:aws:s3:::files/avatars/*", "arn:aws:s3:::files/docs/*"]);
  assert.deepEqual(bucket?.Resource, ["arn:aws:s3:::files"]);
  assert.ok(!JSON.stringify(policy).includes("s3:*"), "no wildcard actions");
  assert.equal(policy.Statement.length, 2, "no setup rights unless asked");
});

test("a profile without prefix needs the whole bucket; --setup adds bucket configuration rights", () => {
  const policy = iamPolicy({
    bucket: "b",
    profiles: { a: { keyPrefix: "x" }, d: { keyPrefix: "" } },
    setup: true,
  });
  assert.deepEqual(policy.Statement[0]?.Resource, ["arn:aws:s3:::b/*"]);
  assert.deepEqual(policy.Statement[2]?.Action, [
    "s3:CreateBucket",
    "s3:PutBucketCORS",
    "s3:PutLifecycleConfiguration",
  ]);
});
