import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  HeadObjectCommand,
  ListPartsCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketNotificationConfigurationCommand,
  PutObjectCommand,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import Database from "better-sqlite3";
import { expectS3Error } from "../conformance/objects.ts";
import { openTestStore, postUpload, type TestStore } from "../test/harness.ts";
import { type Delivery, openReceiver, recordOf, until } from "../test/receiver.ts";

const ARN = "arn:aws:sns:us-east-1:sluice:atomic";
const SECRET = "webhook-secret-0123456789";

/**
 * Makes every outbox write fail, as a crash right after the object commit
 * would lose it: the object change must then not be committed either.
 */
function breakOutbox(dataDir: string): () => void {
  const db = new Database(join(dataDir, "catalog.sqlite3"));
  db.exec(`CREATE TRIGGER outbox_down BEFORE INSERT ON notification_outbox
    BEGIN SELECT RAISE(ABORT, 'outbox unavailable'); END;`);
  return () => {
    db.exec("DROP TRIGGER outbox_down");
    db.close();
  };
}

const exists = (t: TestStore, bucket: string, key: string) =>
  t.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).then(
    () => true,
    () => false,
  );

describe("notification outbox: the event commits in the object's transaction", () => {
  let t: TestStore;
  let receiver: Awaited<ReturnType<typeof openReceiver>>;
  const bucket = "atomic";
  const delivered = (key: string, eventName: string) =>
    receiver.got.find(
      (d: Delivery) =>
        d.status === 200 && recordOf(d).s3.object.key === key && recordOf(d).eventName === eventName,
    );
  before(async () => {
    receiver = await openReceiver();
    t = await openTestStore({
      buckets: [bucket],
      notificationTargets: [{ arn: ARN, url: receiver.url, secret: SECRET }],
    });
    await t.s3.send(
      new PutBucketNotificationConfigurationCommand({
        Bucket: bucket,
        NotificationConfiguration: {
          TopicConfigurations: [{ TopicArn: ARN, Events: ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"] }],
        },
      }),
    );
  });
  after(async () => {
    await t.close();
    await receiver.close();
  });

  test("Put, Post, Copy, Complete, Delete, DeleteObjects: no event recorded, no change committed", async () => {
    await t.s3.send(new PutObjectCommand({ Bucket: bucket, Key: "kept", Body: "kept" }));
    const { UploadId } = await t.s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: "mpu" }));
    const part = await t.s3.send(
      new UploadPartCommand({ Bucket: bucket, Key: "mpu", UploadId, PartNumber: 1, Body: "part" }),
    );
    const complete = new CompleteMultipartUploadCommand({
      Bucket: bucket,
      Key: "mpu",
      UploadId,
      MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
    });
    const repair = breakOutbox(t.dataDir);
    try {
      await expectS3Error(
        t.s3.send(new PutObjectCommand({ Bucket: bucket, Key: "put", Body: "x" })),
        500,
        "InternalError",
      );
      assert.equal((await postUpload(t, { bucket, key: "posted", body: "posted" })).status, 500);
      await expectS3Error(
        t.s3.send(new CopyObjectCommand({ Bucket: bucket, Key: "copy", CopySource: `${bucket}/kept` })),
        500,
        "InternalError",
      );
      await expectS3Error(t.s3.send(complete), 500, "InternalError");
      await expectS3Error(
        t.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "kept" })),
        500,
        "InternalError",
      );
      const batch = await t.s3.send(
        new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: "kept" }] } }),
      );
      assert.deepEqual(
        batch.Errors?.map((e) => [e.Key, e.Code]),
        [["kept", "InternalError"]],
      );
      for (const key of ["put", "posted", "copy", "mpu"])
        assert.equal(await exists(t, bucket, key), false, `${key} was committed without its event`);
      assert.equal(await exists(t, bucket, "kept"), true, "deleted without its event");
      const parts = await t.s3.send(new ListPartsCommand({ Bucket: bucket, Key: "mpu", UploadId }));
      assert.equal(parts.Parts?.length, 1, "the upload is still open");
    } finally {
      repair();
    }
    // The same requests now commit, and their events are delivered.
    await t.s3.send(complete);
    await t.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "kept" }));
    await until("the Complete event", () => delivered("mpu", "ObjectCreated:CompleteMultipartUpload"));
    await until("the Delete event", () => delivered("kept", "ObjectRemoved:Delete"));
  });
});

describe("lifecycle expiration events (LifecycleExpiration:Delete, in the removal's transaction)", () => {
  let t: TestStore;
  let receiver: Awaited<ReturnType<typeof openReceiver>>;
  const bucket = "expiring";
  before(async () => {
    receiver = await openReceiver();
    t = await openTestStore({
      buckets: [bucket],
      notificationTargets: [{ arn: ARN, url: receiver.url, secret: SECRET }],
      lifecycleIntervalMs: 50,
      dayMs: 200,
    });
    await t.s3.send(
      new PutBucketNotificationConfigurationCommand({
        Bucket: bucket,
        NotificationConfiguration: {
          TopicConfigurations: [
            { Id: "removed", TopicArn: ARN, Events: ["s3:ObjectRemoved:*"] },
            { Id: "expired", TopicArn: ARN, Events: ["s3:LifecycleExpiration:*"] },
            { Id: "expired-delete", TopicArn: ARN, Events: ["s3:LifecycleExpiration:Delete"] },
          ],
        },
      }),
    );
  });
  after(async () => {
    await t.close();
    await receiver.close();
  });

  test("named LifecycleExpiration:Delete, matched by s3:LifecycleExpiration:* and :Delete, not by ObjectRemoved:*", async () => {
    await t.s3.send(new PutObjectCommand({ Bucket: bucket, Key: "old/a", Body: "a" }));
    await t.s3.send(
      new PutBucketLifecycleConfigurationCommand({
        Bucket: bucket,
        LifecycleConfiguration: {
          Rules: [{ ID: "expire", Status: "Enabled", Filter: { Prefix: "old/" }, Expiration: { Days: 1 } }],
        },
      }),
    );
    const forKey = (key: string) => receiver.got.filter((d) => recordOf(d).s3.object.key === key);
    await until("two expiration deliveries", () => (forKey("old/a").length >= 2 ? true : undefined));
    await sleep(200);
    const records = forKey("old/a").map(recordOf);
    assert.deepEqual(records.map((r) => r.eventName).sort(), [
      "LifecycleExpiration:Delete",
      "LifecycleExpiration:Delete",
    ]);
    assert.deepEqual(records.map((r) => r.s3.configurationId).sort(), ["expired", "expired-delete"]);
    assert.equal(await exists(t, bucket, "old/a"), false);
  });

  test("an expiration whose event cannot be recorded is not carried out, and is on the next pass", async () => {
    const repair = breakOutbox(t.dataDir);
    try {
      await t.s3.send(new PutObjectCommand({ Bucket: bucket, Key: "old/b", Body: "b" }));
      await sleep(600); // three "days" and several sweeps
      assert.equal(await exists(t, bucket, "old/b"), true, "expired without its event");
    } finally {
      repair();
    }
    await until("the expiration event", () =>
      receiver.got.find(
        (d) =>
          recordOf(d).s3.object.key === "old/b" && recordOf(d).eventName === "LifecycleExpiration:Delete",
      ),
    );
    assert.equal(await exists(t, bucket, "old/b"), false);
  });
});
