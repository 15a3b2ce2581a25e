import { SluiceError } from "@sluice/core";
import { bucketSettingOperations } from "./bucket-setting.ts";
import type { RequestTarget, S3Response, StoreContext, StoreExtension } from "./context.ts";
import { s3Error } from "./errors.ts";
import { parseXml, xmlDocument, xmlList } from "./xml.ts";

/**
 * Bucket CORS (S3 "Using cross-origin resource sharing"): the ?cors
 * configuration, answered on OPTIONS preflights and added to real responses,
 * so a browser may PUT/POST straight to the bucket and read the ETag.
 */
export interface CorsRule {
  id?: string;
  allowedOrigins: string[];
  allowedMethods: string[];
  allowedHeaders: string[];
  exposeHeaders: string[];
  maxAgeSeconds?: number;
}

const METHODS = new Set(["GET", "PUT", "POST", "DELETE", "HEAD"]);
const MAX_RULES = 100;
const VARY = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method";

function strings(value: unknown): string[] {
  return xmlList(value).map((item) => {
    if (typeof item !== "string") throw s3Error("MalformedXML");
    return item;
  });
}

/** Parses and validates a CORSConfiguration document. */
export function parseCorsConfiguration(xml: string): CorsRule[] {
  const rules = xmlList(parseXml(xml, "CORSConfiguration").CORSRule);
  if (rules.length === 0 || rules.length > MAX_RULES) throw s3Error("MalformedXML");
  return rules.map((item) => {
    if (typeof item !== "object" || item === null) throw s3Error("MalformedXML");
    const rule = item as Record<string, unknown>;
    const allowedOrigins = strings(rule.AllowedOrigin);
    const allowedMethods = strings(rule.AllowedMethod);
    if (allowedOrigins.length === 0 || allowedMethods.length === 0) throw s3Error("MalformedXML");
    for (const method of allowedMethods) {
      if (!METHODS.has(method))
        throw s3Error(
          "InvalidRequest",
          `Found unsupported HTTP method in CORS config. Unsupported method is ${method.slice(0, 32)}`,
        );
    }
    for (const origin of allowedOrigins) {
      if ((origin.match(/\*/g) ?? []).length > 1)
        throw s3Error(
          "InvalidRequest",
          `AllowedOrigin "${origin.slice(0, 64)}" can not have more than one wildcard.`,
        );
    }
    const maxAge = rule.MaxAgeSeconds;
    if (maxAge !== undefined && (typeof maxAge !== "string" || !/^\d{1,9}$/.test(maxAge)))
      throw s3Error("MalformedXML");
    return {
      ...(typeof rule.ID === "string" ? { id: rule.ID } : {}),
      allowedOrigins,
      allowedMethods,
      allowedHeaders: strings(rule.AllowedHeader),
      exposeHeaders: strings(rule.ExposeHeader),
      ...(maxAge === undefined ? {} : { maxAgeSeconds: Number(maxAge) }),
    };
  });
}

/** `*` matches any run of characters; everything else literally (case-insensitive for headers). */
function wildcard(pattern: string, value: string, ignoreCase: boolean): boolean {
  const source = pattern
    .split("*")
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${source}$`, ignoreCase ? "i" : "").test(value);
}

/** The first rule allowing this origin, method and every requested header. */
export function matchRule(
  rules: readonly CorsRule[],
  request: { origin: string; method: string; headers: readonly string[] },
): CorsRule | undefined {
  return rules.find(
    (rule) =>
      rule.allowedOrigins.some((pattern) => wildcard(pattern, request.origin, false)) &&
      rule.allowedMethods.includes(request.method) &&
      request.headers.every((header) =>
        rule.allowedHeaders.some((pattern) => wildcard(pattern, header, true)),
      ),
  );
}

function allowOrigin(rule: CorsRule, origin: string): Record<string, string> {
  const any = rule.allowedOrigins.includes("*");
  return {
    "access-control-allow-origin": any ? "*" : origin,
    ...(any ? {} : { "access-control-allow-credentials": "true" }),
  };
}

const corsDenied = (message: string) => new SluiceError({ code: "CORSResponse", status: 403, message });

function preflight(target: RequestTarget, store: StoreContext): S3Response {
  const origin = target.header("origin");
  const method = target.header("access-control-request-method");
  if (!origin)
    throw new SluiceError({
      code: "BadRequest",
      status: 400,
      message: "Insufficient information. Origin request header needed.",
    });
  if (!method || !METHODS.has(method))
    throw new SluiceError({
      code: "BadRequest",
      status: 400,
      message: `Invalid Access-Control-Request-Method: ${method ? method.slice(0, 32) : "null"}`,
    });
  const bucket = target.bucket as string;
  const rules = store.catalog.hasBucket(bucket) ? store.settings.get<CorsRule[]>(bucket, "cors") : undefined;
  if (!rules) throw corsDenied("CORS is not enabled for this bucket.");
  const requested = (target.header("access-control-request-headers") ?? "")
    .split(",")
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean);
  const rule = matchRule(rules, { origin, method, headers: requested });
  if (!rule)
    throw corsDenied(
      "This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.",
    );
  return {
    status: 200,
    headers: {
      ...allowOrigin(rule, origin),
      "access-control-allow-methods": rule.allowedMethods.join(", "),
      ...(requested.length > 0 ? { "access-control-allow-headers": requested.join(", ") } : {}),
      ...(rule.exposeHeaders.length > 0
        ? { "access-control-expose-headers": rule.exposeHeaders.join(", ") }
        : {}),
      ...(rule.maxAgeSeconds === undefined ? {} : { "access-control-max-age": String(rule.maxAgeSeconds) }),
      vary: VARY,
    },
  };
}

const corsOperations = bucketSettingOperations<CorsRule[]>({
  subresource: "cors",
  names: { put: "PutBucketCors", get: "GetBucketCors", delete: "DeleteBucketCors" },
  maxBodyBytes: 64 * 1024,
  parse: parseCorsConfiguration,
  render: (rules) =>
    xmlDocument("CORSConfiguration", {
      CORSRule: rules.map((rule) => ({
        ID: rule.id,
        AllowedHeader: rule.allowedHeaders,
        AllowedMethod: rule.allowedMethods,
        AllowedOrigin: rule.allowedOrigins,
        ExposeHeader: rule.exposeHeaders,
        MaxAgeSeconds: rule.maxAgeSeconds,
      })),
    }),
  missing: () =>
    new SluiceError({
      code: "NoSuchCORSConfiguration",
      status: 404,
      message: "The CORS configuration does not exist",
    }),
});

/** CORS: the ?cors operations, OPTIONS preflights, and the headers on real responses. */
export function corsExtension(): StoreExtension {
  return {
    operations: corsOperations,
    async intercept(target, store) {
      if (target.method !== "OPTIONS" || target.bucket === undefined) return undefined;
      return preflight(target, store);
    },
    decorate(target, response, store) {
      const origin = target.header("origin");
      if (!origin || target.method === "OPTIONS" || target.bucket === undefined) return;
      if (!store.catalog.hasBucket(target.bucket)) return;
      const rules = store.settings.get<CorsRule[]>(target.bucket, "cors");
      if (!rules) return;
      const headers: Record<string, string> = { ...response.headers, vary: VARY };
      const rule = matchRule(rules, { origin, method: target.method, headers: [] });
      if (rule) {
        Object.assign(headers, allowOrigin(rule, origin), {
          "access-control-allow-methods": rule.allowedMethods.join(", "),
        });
        if (rule.exposeHeaders.length > 0)
          headers["access-control-expose-headers"] = rule.exposeHeaders.join(", ");
        if (rule.maxAgeSeconds !== undefined) headers["access-control-max-age"] = String(rule.maxAgeSeconds);
      }
      response.headers = headers;
    },
  };
}
