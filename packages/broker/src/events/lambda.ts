// Storage events that reach a Lambda function without HTTP: S3 → SQS (optionally
// through SNS) → Lambda, or S3 invoking the function directly. SQS messages that
// fail are reported back (partial batch response) so only they are retried.
import type { BrokerContext } from "../context.ts";
import { processStorageEvents, type StorageEventRecord } from "./process.ts";

interface SqsRecord {
  eventSource: "aws:sqs";
  messageId: string;
  body: string;
}

interface S3Record extends StorageEventRecord {
  eventSource: "aws:s3";
}

export interface RecordsEvent {
  Records: Array<SqsRecord | S3Record>;
}

export function isRecordsEvent(event: unknown): event is RecordsEvent {
  const records = (event as { Records?: Array<{ eventSource?: string }> })?.Records;
  return (
    Array.isArray(records) &&
    records.length > 0 &&
    records.every((r) => r.eventSource === "aws:sqs" || r.eventSource === "aws:s3")
  );
}

/** The S3 records inside one SQS message body (direct, or wrapped in an SNS notification). */
function recordsOfMessage(body: string): StorageEventRecord[] {
  let parsed = JSON.parse(body) as { Type?: string; Message?: string; Records?: StorageEventRecord[] };
  if (parsed.Type === "Notification" && typeof parsed.Message === "string")
    parsed = JSON.parse(parsed.Message);
  return Array.isArray(parsed.Records) ? parsed.Records : []; // e.g. s3:TestEvent
}

export async function handleRecordsEvent(
  ctx: BrokerContext,
  event: RecordsEvent,
): Promise<{ batchItemFailures: Array<{ itemIdentifier: string }> }> {
  const batchItemFailures: Array<{ itemIdentifier: string }> = [];
  const direct = event.Records.filter((r): r is S3Record => r.eventSource === "aws:s3");
  if (direct.length > 0) await processStorageEvents(ctx, direct);
  for (const record of event.Records) {
    if (record.eventSource !== "aws:sqs") continue;
    try {
      await processStorageEvents(ctx, recordsOfMessage(record.body));
    } catch (error) {
      ctx.log.warn(
        { message: record.messageId, err: (error as Error).message },
        "storage event message failed",
      );
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
}
