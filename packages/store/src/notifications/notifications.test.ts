import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetBucketNotificationConfigurationCommand,
  PutBucketNotificationConfigurationCommand,
  PutObjectCommand,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { signedRequest } from "../conformance/http.ts";
import { expectS3Error } from "../conformance/objects.ts";
import { CREDENTIALS, openTestStore, postUpload, type TestStore } from "../test/harness.ts";
import { openReceiver, recordOf, until } from "../test/receiver.ts";
import { signNotification, verifyNotificationSignature } from "./signature.ts";

const ARN = "arn:aws:sns:us-east-1:sluice:uploads";
const SECRET = "webhook-secret-0123456789";

describe("event notifications (webhook targets, durable outbox)", () => {
  let t: TestStore;
  let receiver: Awaited<ReturnType<typeof openReceiver>>;
  const bucket = "notified";
  const eventFor = (key: string, name?: string) =>
    until(`${name ?? "an event"} for ${key}`, () =>
      receiver.got.find(
        (d) =>
          d.status === 200 && recordOf(d).s3.object.key === key && (!name || recordOf(d).eventName === name),
      ),
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
          TopicConfigurations: [
            {
              Id: "created",
              TopicArn: ARN,
              Events: ["s3:ObjectCreated:*"],
              Filter: { Key: { FilterRules: [{ Name: "prefix", Value: "in/" }] } },
            },
          ],
          QueueConfigurations: [{ Id: "removed", QueueArn: ARN, Events: ["s3:ObjectRemoved:*"] }],
        },
      }),
    );
  });
  after(async () => {
    await t.close();
    await receiver.close();
  });

  test("GetBucketNotificationConfiguration returns what was put", async () => {
    const got = await t.s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket }));
    assert.equal(got.TopicConfigurations?.[0]?.TopicArn, ARN);
    assert.deepEqual(got.TopicConfigurations?.[0]?.Events, ["s3:ObjectCreated:*"]);
    assert.deepEqual(got.TopicConfigurations?.[0]?.Filter?.Key?.FilterRules, [
      { Name: "prefix", Value: "in/" },
    ]);
    assert.equal(got.QueueConfigurations?.[0]?.Id, "removed");
  });

  test("a PUT is POSTed as an S3 event record (key URL-encoded), signed with the target's secret", async () => {
    const put = await t.s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: "in/a photo+1.jpg", Body: "12345" }),
    );
    const delivery = await eventFor("in/a+photo%2B1.jpg");
    const record = recordOf(delivery);
    assert.equal(record.eventVersion, "2.1");
    assert.equal(record.eventSource, "aws:s3");
    assert.equal(record.awsRegion, "us-east-1");
    assert.equal(record.eventName, "ObjectCreated:Put");
    assert.ok(!Number.isNaN(Date.parse(record.eventTime)));
    assert.equal(record.s3.configurationId, "created");
    assert.deepEqual(record.s3.bucket, {
      name: bucket,
      ownerIdentity: { principalId: "sluice" },
      arn: `arn:aws:s3:::${bucket}`,
    });
    assert.equal(record.s3.object.size, 5);
    assert.equal(`"${record.s3.object.eTag}"`, put.ETag);
    assert.match(record.s3.object.sequencer, /^[0-9A-F]{16,}$/);
    assert.equal(delivery.headers["content-type"], "application/json");
    const header = delivery.headers["x-sluice-signature"] as string;
    assert.equal(verifyNotificationSignature({ body: delivery.body, header, secret: SECRET }), true);
    assert.equal(
      verifyNotificationSignature({ body: `${delivery.body} `, header, secret: SECRET }),
      false,
      "tampered body",
    );
    assert.equal(
      verifyNotificationSignature({ body: delivery.body, header, secret: "another-secret-12345" }),
      false,
      "wrong secret",
    );
    assert.equal(
      verifyNotificationSignature({ body: delivery.body, header: "t=1,v1=00", secret: SECRET }),
      false,
    );
    const old = signNotification({
      body: delivery.body,
      secret: SECRET,
      now: new Date(Date.now() - 3_600_000),
    });
    assert.equal(
      verifyNotificationSignature({ body: delivery.body, header: old, secret: SECRET }),
      false,
      "replayed an hour later",
    );
  });

  test("Copy, Post, CompleteMultipartUpload and Delete are named as S3 names them; the prefix filter applies", async () => {
    await t.s3.send(new PutObjectCommand({ Bucket: bucket, Key: "out/ignored.txt", Body: "x" }));
    await t.s3.send(
      new CopyObjectCommand({ Bucket: bucket, Key: "in/copy.txt", CopySource: `${bucket}/out/ignored.txt` }),
    );
    await eventFor("in/copy.txt", "ObjectCreated:Copy");
    const posted = await postUpload(t, { bucket, key: "in/posted.txt", body: "posted" });
    assert.equal(posted.status, 204);
    await eventFor("in/posted.txt", "ObjectCreated:Post");
    const { UploadId } = await t.s3.send(
      new CreateMultipartUploadCommand({ Bucket: bucket, Key: "in/mpu.bin" }),
    );
    const part = await t.s3.send(
      new UploadPartCommand({ Bucket: bucket, Key: "in/mpu.bin", UploadId, PartNumber: 1, Body: "p" }),
    );
    await t.s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: "in/mpu.bin",
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
      }),
    );
    await eventFor("in/mpu.bin", "ObjectCreated:CompleteMultipartUpload");
    await t.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "out/ignored.txt" }));
    const removed = recordOf(await eventFor("out/ignored.txt", "ObjectRemoved:Delete"));
    assert.equal(removed.s3.object.size, undefined);
    assert.equal(
      receiver.got.some(
        (d) =>
          recordOf(d).s3.object.key === "out/ignored.txt" &&
          recordOf(d).eventName.startsWith("ObjectCreated"),
      ),
      false,
      "out/ is outside the ObjectCreated prefix filter",
    );
  });

  test("a failed delivery (HTTP 500) is retried with backoff until it succeeds", async () => {
    let failures = 0;
    receiver.setAnswer((delivery) =>
      recordOf(delivery).s3.object.key === "in/retry.txt" && failures++ < 1 ? 500 : 200,
    );
    await t.s3.send(new PutObjectCommand({ Bucket: bucket, Key: "in/retry.txt", Body: "r" }));
    const delivered = await eventFor("in/retry.txt");
    const attempts = receiver.got.filter((d) => recordOf(d).s3.object.key === "in/retry.txt");
    assert.deepEqual(
      attempts.map((d) => d.status),
      [500, 200],
    );
    assert.equal(
      attempts[0]?.headers["x-sluice-delivery"],
      delivered.headers["x-sluice-delivery"],
      "same delivery id on retry",
    );
    receiver.setAnswer(() => 200);
  });

  test("pending deliveries survive a restart of the store", async () => {
    receiver.setAnswer(() => 503);
    await t.s3.send(new PutObjectCommand({ Bucket: bucket, Key: "in/durable.txt", Body: "d" }));
    await until("a first failed attempt", () =>
      receiver.got.find((d) => recordOf(d).s3.object.key === "in/durable.txt"),
    );
    await t.restart({ notificationTargets: [{ arn: ARN, url: receiver.url, secret: SECRET }] });
    receiver.setAnswer(() => 200);
    await eventFor("in/durable.txt");
  });

  test("hostile configurations: unknown ARN, unknown event, malformed XML: 400; store keeps serving", async () => {
    const target = { endpoint: t.endpoint, region: "us-east-1", credentials: CREDENTIALS } as never;
    const topic = (arn: string, event: string) =>
      `<NotificationConfiguration><TopicConfiguration><Topic>${arn}</Topic><Event>${event}</Event></TopicConfiguration></NotificationConfiguration>`;
    const cases: Array<[string, string]> = [
      [topic("arn:aws:sns:us-east-1:x:elsewhere", "s3:ObjectCreated:*"), "InvalidArgument"],
      [topic(ARN, "s3:ObjectRestore:Post"), "InvalidArgument"],
      ["<NotificationConfiguration><TopicConfiguration>", "MalformedXML"],
      [
        "<NotificationConfiguration><TopicConfiguration><Event>s3:ObjectCreated:*</Event></TopicConfiguration></NotificationConfiguration>",
        "MalformedXML",
      ],
    ];
    for (const [body, code] of cases) {
      const res = await signedRequest(target, { method: "PUT", path: `/${bucket}?notification`, body });
      assert.equal(res.status, 400, body);
      assert.equal(res.code, code, body);
    }
    const still = await t.s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket }));
    assert.equal(still.TopicConfigurations?.length, 1);
    await expectS3Error(
      t.s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: "missing-bucket" })),
      404,
      "NoSuchBucket",
    );
  });
});
