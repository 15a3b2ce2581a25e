import { readSmallBody } from "../body/ingest.ts";
import type { Operation } from "../context.ts";
import { s3Error } from "../errors.ts";
import { parseXml, xmlDocument, xmlList } from "../xml.ts";

/**
 * A bucket's notification configuration (S3 "Amazon S3 Event
 * Notifications"): which events, under which key prefix/suffix, go to which
 * configured webhook target (named by its ARN in a Topic, Queue or
 * CloudFunction configuration).
 */
export interface NotificationRule {
  id: string;
  kind: "Topic" | "Queue" | "CloudFunction";
  arn: string;
  events: string[];
  prefix: string;
  suffix: string;
}

export const SUPPORTED_EVENTS = new Set([
  "s3:ObjectCreated:*",
  "s3:ObjectCreated:Put",
  "s3:ObjectCreated:Post",
  "s3:ObjectCreated:Copy",
  "s3:ObjectCreated:CompleteMultipartUpload",
  "s3:ObjectRemoved:*",
  "s3:ObjectRemoved:Delete",
  // Removals by a lifecycle rule: AWS names them apart, and s3:ObjectRemoved:* does not match them.
  "s3:LifecycleExpiration:*",
  "s3:LifecycleExpiration:Delete",
]);

const KINDS = ["Topic", "Queue", "CloudFunction"] as const;
const MAX_RULES = 100;

function record(value: unknown): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw s3Error("MalformedXML");
  return value as Record<string, unknown>;
}

function keyFilter(filter: unknown): { prefix: string; suffix: string } {
  const out = { prefix: "", suffix: "" };
  if (filter === undefined || filter === "") return out;
  const s3Key = record(filter).S3Key;
  if (s3Key === undefined || s3Key === "") return out;
  const seen = new Set<string>();
  for (const item of xmlList(record(s3Key).FilterRule)) {
    const { Name: name, Value: value } = record(item);
    const lower = typeof name === "string" ? name.toLowerCase() : "";
    if ((lower !== "prefix" && lower !== "suffix") || typeof value !== "string" || seen.has(lower))
      throw s3Error("InvalidArgument", "Invalid filter rule: only one prefix and one suffix are allowed.");
    seen.add(lower);
    out[lower] = value;
  }
  return out;
}

/** Parses a NotificationConfiguration; every ARN must name a target from the store's configuration. */
export function parseNotificationConfiguration(
  xml: string,
  knownArns: ReadonlySet<string>,
): NotificationRule[] {
  const document = parseXml(xml, "NotificationConfiguration");
  const rules: NotificationRule[] = [];
  const ids = new Set<string>();
  for (const kind of KINDS) {
    for (const item of xmlList(document[`${kind}Configuration`])) {
      const entry = record(item);
      const arn = entry[kind];
      if (typeof arn !== "string" || arn === "") throw s3Error("MalformedXML");
      if (!knownArns.has(arn))
        throw s3Error(
          "InvalidArgument",
          `Unable to validate the following destination configurations: ${arn.slice(0, 256)}`,
        );
      const events = xmlList(entry.Event).map((event) => {
        if (typeof event !== "string" || !SUPPORTED_EVENTS.has(event))
          throw s3Error(
            "InvalidArgument",
            `The event is not supported for notifications: ${String(event).slice(0, 64)}`,
          );
        return event;
      });
      if (events.length === 0) throw s3Error("MalformedXML");
      const id =
        typeof entry.Id === "string" && entry.Id !== ""
          ? entry.Id
          : `${kind.toLowerCase()}-${rules.length + 1}`;
      if (ids.has(id)) throw s3Error("InvalidArgument", "Configurations must have unique ids.");
      ids.add(id);
      rules.push({ id, kind, arn, events, ...keyFilter(entry.Filter) });
    }
  }
  if (rules.length > MAX_RULES)
    throw s3Error("InvalidArgument", `At most ${MAX_RULES} configurations per bucket.`);
  return rules;
}

/** Does a rule want this event (e.g. "ObjectCreated:Put") for this key? */
export function ruleMatches(rule: NotificationRule, eventName: string, key: string): boolean {
  const [family] = eventName.split(":");
  const wanted = rule.events.includes(`s3:${eventName}`) || rule.events.includes(`s3:${family}:*`);
  return wanted && key.startsWith(rule.prefix) && key.endsWith(rule.suffix);
}

export function notificationOperations(knownArns: () => ReadonlySet<string>): Operation[] {
  return [
    {
      name: "PutBucketNotificationConfiguration",
      method: "PUT",
      target: "bucket",
      subresources: ["notification"],
      async handle(request, store) {
        store.catalog.requireBucket(request.bucket as string);
        const rules = parseNotificationConfiguration(await readSmallBody(request, 256 * 1024), knownArns());
        if (rules.length === 0) store.settings.delete(request.bucket as string, "notification");
        else store.settings.set(request.bucket as string, "notification", rules);
        return { status: 200 };
      },
    },
    {
      name: "GetBucketNotificationConfiguration",
      method: "GET",
      target: "bucket",
      subresources: ["notification"],
      async handle(request, store) {
        store.catalog.requireBucket(request.bucket as string);
        const rules = store.settings.get<NotificationRule[]>(request.bucket as string, "notification") ?? [];
        const content: Record<string, unknown[]> = {};
        for (const rule of rules) {
          const filterRules = [
            ...(rule.prefix ? [{ Name: "prefix", Value: rule.prefix }] : []),
            ...(rule.suffix ? [{ Name: "suffix", Value: rule.suffix }] : []),
          ];
          const list = content[`${rule.kind}Configuration`] ?? [];
          content[`${rule.kind}Configuration`] = list;
          list.push({
            Id: rule.id,
            [rule.kind]: rule.arn,
            Event: rule.events,
            Filter: filterRules.length > 0 ? { S3Key: { FilterRule: filterRules } } : undefined,
          });
        }
        return {
          status: 200,
          headers: { "content-type": "application/xml" },
          body: xmlDocument("NotificationConfiguration", content as never),
        };
      },
    },
  ];
}
