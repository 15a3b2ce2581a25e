// `sluice setup --events-url` against Ceph RGW (CI tier): the bucket ends up
// notifying the broker's events endpoint through an RGW topic.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { GetBucketNotificationConfigurationCommand, S3Client } from "@aws-sdk/client-s3";
import { DeleteTopicCommand, SNSClient } from "@aws-sdk/client-sns";
import { rgwTier } from "@sluice/core/testing";
import { runCli } from "../test/cli.ts";

const tier = rgwTier();

test("setup --events-url creates an RGW topic and points the bucket's notifications at it", {
  skip: tier.available ? false : tier.reason,
}, async (t) => {
  if (!tier.available) return;
  const cwd = await mkdtemp(join(tmpdir(), "sluice-setup-"));
  t.after(() => rm(cwd, { recursive: true, force: true }));
  const bucket = `sluice-setup-${randomBytes(4).toString("hex")}`;
  const { endpoint, accessKeyId, secretAccessKey, region } = tier.value;
  const env = {
    AWS_ACCESS_KEY_ID: accessKeyId,
    AWS_SECRET_ACCESS_KEY: secretAccessKey,
    SLUICE_EVENTS_TOKEN: randomBytes(24).toString("hex"),
  };
  const args = ["setup", "--endpoint", endpoint, "--bucket", bucket, "--region", region, "--json"];
  const result = await runCli([...args, "--events-url", "http://127.0.0.1:9/v1/events/s3"], { cwd, env });
  assert.equal(result.code, 0, result.stderr);
  const summary = JSON.parse(result.stdout) as { events: string };
  assert.match(summary.events, /^arn:aws:sns:.*:sluice-/);

  const s3 = new S3Client({
    endpoint,
    region,
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
  });
  t.after(() => s3.destroy());
  const configured = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket }));
  assert.deepEqual(
    configured.TopicConfigurations?.map((c) => [c.TopicArn, c.Events]),
    [[summary.events, ["s3:ObjectCreated:*"]]],
  );

  const sns = new SNSClient({ endpoint, region, credentials: { accessKeyId, secretAccessKey } });
  t.after(() => sns.destroy());
  await sns.send(new DeleteTopicCommand({ TopicArn: summary.events }));

  const noToken = await runCli([...args, "--events-url", "http://127.0.0.1:9/v1/events/s3"], {
    cwd,
    env: { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey },
  });
  assert.notEqual(noToken.code, 0);
  assert.match(noToken.stderr, /events\.token/);
});
