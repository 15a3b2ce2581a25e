import { setImmediate as yieldToRequests } from "node:timers/promises";
import { SluiceError } from "@sluice/core";
import { bucketSettingOperations } from "./bucket-setting.ts";
import type { StoreContext, StoreExtension } from "./context.ts";
import { s3Error } from "./errors.ts";
import { parseXml, xmlDocument, xmlList } from "./xml.ts";

/**
 * Bucket lifecycle (S3 "Managing your storage lifecycle"): the ?lifecycle
 * configuration and a sweeper that carries out its two supported actions,
 * Expiration (Days, by prefix) and AbortIncompleteMultipartUpload
 * (DaysAfterInitiation). Ages are exact (a day is `dayMs` after the write),
 * where S3 rounds up to the next midnight UTC.
 */
export interface LifecycleRule {
  id?: string;
  enabled: boolean;
  prefix: string;
  expirationDays?: number;
  abortIncompleteDays?: number;
}

const MAX_RULES = 1000;
const PAGE = 500;

function element(value: unknown): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  if (value === "") return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw s3Error("MalformedXML");
  return value as Record<string, unknown>;
}

function days(value: unknown, name: string): number {
  if (typeof value !== "string" || !/^\d{1,6}$/.test(value) || Number(value) < 1)
    throw s3Error("InvalidArgument", `'${name}' for lifecycle rules must be a positive integer.`);
  return Number(value);
}

const unsupported = (what: string) =>
  s3Error("NotImplemented", `Lifecycle ${what} is not supported by this store.`);

function rulePrefix(rule: Record<string, unknown>): string {
  const filter = element(rule.Filter);
  if (filter === undefined) {
    if (rule.Prefix === undefined) return "";
    if (typeof rule.Prefix !== "string") throw s3Error("MalformedXML");
    return rule.Prefix;
  }
  if (rule.Prefix !== undefined) throw s3Error("MalformedXML");
  if (
    filter.Tag !== undefined ||
    filter.ObjectSizeGreaterThan !== undefined ||
    filter.ObjectSizeLessThan !== undefined
  )
    throw unsupported("filters other than Prefix");
  const and = element(filter.And);
  if (and !== undefined) {
    if (Object.keys(and).some((name) => name !== "Prefix")) throw unsupported("filters other than Prefix");
    return typeof and.Prefix === "string" ? and.Prefix : "";
  }
  if (filter.Prefix === undefined) return "";
  if (typeof filter.Prefix !== "string") throw s3Error("MalformedXML");
  return filter.Prefix;
}

/** Parses and validates a LifecycleConfiguration document. */
export function parseLifecycleConfiguration(xml: string): LifecycleRule[] {
  const rules = xmlList(parseXml(xml, "LifecycleConfiguration").Rule);
  if (rules.length === 0 || rules.length > MAX_RULES) throw s3Error("MalformedXML");
  const ids = new Set<string>();
  return rules.map((item) => {
    const rule = element(item) ?? {};
    const status = rule.Status;
    if (status !== "Enabled" && status !== "Disabled") throw s3Error("MalformedXML");
    if (rule.ID !== undefined) {
      if (typeof rule.ID !== "string" || rule.ID.length > 255)
        throw s3Error("InvalidArgument", "ID length should not exceed allowed limit of 255");
      if (ids.has(rule.ID))
        throw s3Error("InvalidArgument", "Rule ID must be unique. Found same ID for more than one rule");
      ids.add(rule.ID);
    }
    for (const name of ["Transition", "NoncurrentVersionExpiration", "NoncurrentVersionTransition"])
      if (rule[name] !== undefined) throw unsupported(name);
    const expiration = element(rule.Expiration);
    if (expiration && (expiration.Date !== undefined || expiration.ExpiredObjectDeleteMarker !== undefined))
      throw unsupported("Expiration by Date or ExpiredObjectDeleteMarker");
    const abort = element(rule.AbortIncompleteMultipartUpload);
    if (!expiration && !abort) throw s3Error("MalformedXML");
    return {
      ...(typeof rule.ID === "string" ? { id: rule.ID } : {}),
      enabled: status === "Enabled",
      prefix: rulePrefix(rule),
      ...(expiration ? { expirationDays: days(expiration.Days, "Days") } : {}),
      ...(abort ? { abortIncompleteDays: days(abort.DaysAfterInitiation, "DaysAfterInitiation") } : {}),
    };
  });
}

const lifecycleOperations = bucketSettingOperations<LifecycleRule[]>({
  subresource: "lifecycle",
  names: {
    put: "PutBucketLifecycleConfiguration",
    get: "GetBucketLifecycleConfiguration",
    delete: "DeleteBucketLifecycle",
  },
  maxBodyBytes: 256 * 1024,
  parse: parseLifecycleConfiguration,
  render: (rules) =>
    xmlDocument("LifecycleConfiguration", {
      Rule: rules.map((rule) => ({
        ID: rule.id,
        Filter: { Prefix: rule.prefix },
        Status: rule.enabled ? "Enabled" : "Disabled",
        Expiration: rule.expirationDays === undefined ? undefined : { Days: rule.expirationDays },
        AbortIncompleteMultipartUpload:
          rule.abortIncompleteDays === undefined
            ? undefined
            : { DaysAfterInitiation: rule.abortIncompleteDays },
      })),
    }),
  missing: () =>
    new SluiceError({
      code: "NoSuchLifecycleConfiguration",
      status: 404,
      message: "The lifecycle configuration does not exist",
    }),
});

/** Removes the objects under `prefix` last written before `cutoff`, a page at a time. */
async function expireObjects(
  store: StoreContext,
  options: { bucket: string; prefix: string; cutoff: number },
) {
  let after: Buffer | undefined;
  for (;;) {
    // Listing and deleting a page happen in one synchronous run: no write can slip in between.
    const page = store.catalog.list({
      bucket: options.bucket,
      prefix: options.prefix,
      delimiter: "",
      maxKeys: PAGE,
      ...(after ? { after } : {}),
    });
    for (const entry of page.entries) {
      if (!("object" in entry) || entry.object.modified >= options.cutoff) continue;
      const removed = store.catalog.deleteObject({
        bucket: options.bucket,
        key: entry.object.key,
        announce: { operation: "Expiration", requestId: "lifecycle" },
      });
      if (removed) store.blobs.retire(removed);
    }
    if (!page.truncated || !page.next) return;
    after = page.next;
    await yieldToRequests();
  }
}

async function abortUploads(
  store: StoreContext,
  options: { bucket: string; prefix: string; cutoff: number },
) {
  let keyMarker = "";
  let uploadIdMarker = "";
  for (;;) {
    const page = store.catalog.listUploads({
      bucket: options.bucket,
      prefix: options.prefix,
      keyMarker,
      uploadIdMarker,
      limit: PAGE,
    });
    const uploads = page.entries.flatMap((entry) => ("upload" in entry ? [entry.upload] : []));
    for (const upload of uploads) {
      if (upload.initiated >= options.cutoff) continue;
      try {
        store.blobs.retire(store.catalog.abortUpload(options.bucket, upload.key, upload.id));
      } catch {
        // Completed or aborted meanwhile.
      }
    }
    const last = uploads.at(-1);
    if (!page.truncated || !last) return;
    keyMarker = last.key;
    uploadIdMarker = last.id;
    await yieldToRequests();
  }
}

/** One pass over every bucket with a lifecycle configuration. */
export async function runLifecycle(store: StoreContext, now = Date.now()): Promise<void> {
  for (const bucket of store.settings.bucketsWith("lifecycle")) {
    if (!store.catalog.hasBucket(bucket)) continue;
    for (const rule of store.settings.get<LifecycleRule[]>(bucket, "lifecycle") ?? []) {
      if (!rule.enabled) continue;
      if (rule.expirationDays !== undefined)
        await expireObjects(store, {
          bucket,
          prefix: rule.prefix,
          cutoff: now - rule.expirationDays * store.options.dayMs,
        });
      if (rule.abortIncompleteDays !== undefined)
        await abortUploads(store, {
          bucket,
          prefix: rule.prefix,
          cutoff: now - rule.abortIncompleteDays * store.options.dayMs,
        });
    }
  }
}

/** Lifecycle: the ?lifecycle operations and the periodic sweeper (every lifecycleIntervalMs). */
export function lifecycleExtension(): StoreExtension {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  return {
    operations: lifecycleOperations,
    start(store) {
      timer = setInterval(() => {
        // One pass at a time; a pass that fails (e.g. a disk error) is tried again on the next tick.
        running ??= runLifecycle(store)
          .catch(() => {})
          .finally(() => {
            running = undefined;
          });
      }, store.options.lifecycleIntervalMs);
      timer.unref();
    },
    async close() {
      clearInterval(timer);
      await running;
    },
  };
}
