import type { StoreContext, StoreExtension } from "../context.ts";
import { type ObjectEvent, s3EventName } from "../events.ts";
import { type NotificationRule, notificationOperations, ruleMatches } from "./config.ts";
import { NotificationOutbox } from "./outbox.ts";

/** S3 event keys are URL-encoded like a form value (space as "+"), slashes kept. */
export function eventKey(key: string): string {
  return encodeURIComponent(key).replaceAll("%20", "+").replaceAll("%2F", "/");
}

let lastSequence = 0n;
/** Increases with every event of this process, as S3's per-key sequencer does. */
function sequencer(): string {
  const now = BigInt(Date.now()) << 16n;
  lastSequence = now > lastSequence ? now : lastSequence + 1n;
  return lastSequence.toString(16).toUpperCase().padStart(16, "0");
}

/** One S3 event record (event structure version 2.1). */
function eventRecord(options: {
  store: StoreContext;
  rule: NotificationRule;
  eventName: string;
  event: ObjectEvent;
}): string {
  const { store, rule, eventName, event } = options;
  const object =
    "size" in event
      ? {
          key: eventKey(event.key),
          size: event.size,
          eTag: event.etag.replaceAll('"', ""),
          sequencer: sequencer(),
        }
      : { key: eventKey(event.key), sequencer: sequencer() };
  return JSON.stringify({
    Records: [
      {
        eventVersion: "2.1",
        eventSource: "aws:s3",
        awsRegion: store.options.region,
        eventTime: new Date().toISOString(),
        eventName,
        userIdentity: { principalId: "sluice" },
        requestParameters: { sourceIPAddress: "127.0.0.1" },
        responseElements: { "x-amz-request-id": event.requestId },
        s3: {
          s3SchemaVersion: "1.0",
          configurationId: rule.id,
          bucket: {
            name: event.bucket,
            ownerIdentity: { principalId: "sluice" },
            arn: `arn:aws:s3:::${event.bucket}`,
          },
          object,
        },
      },
    ],
  });
}

/**
 * Event notifications: the ?notification operations, and every create/remove
 * that a bucket rule wants goes into the durable outbox in the transaction
 * that commits it (so a crash cannot keep the object and lose the event),
 * then is delivered to the configured webhook.
 */
export function notificationsExtension(): StoreExtension {
  let outbox: NotificationOutbox | undefined;
  let arns: ReadonlySet<string> = new Set();
  return {
    operations: notificationOperations(() => arns),
    start(store) {
      arns = new Set(store.options.notificationTargets.map((target) => target.arn));
      const current = new NotificationOutbox({
        database: store.catalog.database,
        targets: store.options.notificationTargets,
      });
      outbox = current;
      store.catalog.onChange((event) => {
        const rules = store.settings.get<NotificationRule[]>(event.bucket, "notification");
        if (!rules) return;
        const eventName = s3EventName(event);
        current.enqueue(
          rules
            .filter((rule) => ruleMatches(rule, eventName, event.key))
            .map((rule) => ({ target: rule.arn, body: eventRecord({ store, rule, eventName, event }) })),
        );
      });
      current.kick();
    },
    async close() {
      await outbox?.close();
    },
  };
}
