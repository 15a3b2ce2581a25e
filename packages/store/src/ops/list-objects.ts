import { uriEncode } from "@sluice/sigv4";
import type { Operation, S3Request, StoreContext } from "../context.ts";
import { s3Error } from "../errors.ts";
import type { ListResult } from "../storage/catalog.ts";
import { xmlDocument } from "../xml.ts";

function maxKeys(request: S3Request): number {
  const value = request.query.get("max-keys");
  if (value === null) return 1000;
  if (!/^\d{1,9}$/.test(value))
    throw s3Error("InvalidArgument", "Provided max-keys not an integer or within integer range");
  return Math.min(Number(value), 1000);
}

function encoder(request: S3Request): (value: string) => string {
  const type = request.query.get("encoding-type");
  if (type === null) return (value) => value;
  if (type !== "url") throw s3Error("InvalidArgument", "Invalid Encoding Method specified in Request");
  return (value) => uriEncode(value, true);
}

function list(
  request: S3Request,
  store: StoreContext,
  after: Buffer | undefined,
): ListResult & { encode: (value: string) => string } {
  store.catalog.requireBucket(request.bucket as string);
  return {
    ...store.catalog.list({
      bucket: request.bucket as string,
      prefix: request.query.get("prefix") ?? "",
      delimiter: request.query.get("delimiter") ?? "",
      ...(after ? { after } : {}),
      maxKeys: maxKeys(request),
    }),
    encode: encoder(request),
  };
}

function contents(result: ReturnType<typeof list>) {
  const objects = [];
  const prefixes = [];
  for (const entry of result.entries) {
    if ("prefix" in entry) prefixes.push({ Prefix: result.encode(entry.prefix) });
    else {
      const { object } = entry;
      objects.push({
        Key: result.encode(object.key),
        LastModified: new Date(object.modified).toISOString(),
        ETag: object.etag,
        Size: object.size,
        StorageClass: "STANDARD",
      });
    }
  }
  return { Contents: objects, CommonPrefixes: prefixes };
}

function common(request: S3Request, result: ReturnType<typeof list>) {
  const prefix = request.query.get("prefix") ?? "";
  const delimiter = request.query.get("delimiter");
  return {
    Name: request.bucket,
    Prefix: result.encode(prefix),
    ...(delimiter === null ? {} : { Delimiter: result.encode(delimiter) }),
    MaxKeys: maxKeys(request),
    ...(request.query.has("encoding-type") ? { EncodingType: "url" } : {}),
    IsTruncated: result.truncated,
  };
}

const XML = { "content-type": "application/xml" };

/** Continuation tokens are opaque to clients: the raw resume position, base64url. */
function decodeToken(token: string): Buffer {
  const position = Buffer.from(token, "base64url");
  if (position.length === 0 || position.toString("base64url") !== token)
    throw s3Error("InvalidArgument", "The continuation token provided is incorrect");
  return position;
}

export const listObjectsV2: Operation = {
  name: "ListObjectsV2",
  method: "GET",
  target: "bucket",
  subresources: ["list-type"],
  async handle(request, store) {
    if (request.query.get("list-type") !== "2") throw s3Error("InvalidArgument", "Invalid list-type");
    const token = request.query.get("continuation-token");
    const startAfter = request.query.get("start-after");
    const after =
      token !== null ? decodeToken(token) : startAfter ? Buffer.from(startAfter, "utf8") : undefined;
    const result = list(request, store, after);
    const body = xmlDocument("ListBucketResult", {
      ...common(request, result),
      ...contents(result),
      KeyCount: result.entries.length,
      ...(token === null ? {} : { ContinuationToken: token }),
      ...(result.truncated && result.next
        ? { NextContinuationToken: result.next.toString("base64url") }
        : {}),
      ...(startAfter ? { StartAfter: result.encode(startAfter) } : {}),
    });
    return { status: 200, headers: XML, body };
  },
};

export const listObjects: Operation = {
  name: "ListObjects",
  method: "GET",
  target: "bucket",
  async handle(request, store) {
    const marker = request.query.get("marker") ?? "";
    const delimiter = request.query.get("delimiter") ?? "";
    // A common prefix as marker skips everything under it, like the V2 token does.
    const after =
      marker === ""
        ? undefined
        : Buffer.concat([
            Buffer.from(marker, "utf8"),
            delimiter !== "" && marker.endsWith(delimiter) ? Buffer.from([0xff]) : Buffer.alloc(0),
          ]);
    const result = list(request, store, after);
    const last = result.entries.at(-1);
    const nextMarker = last === undefined ? undefined : "prefix" in last ? last.prefix : last.object.key;
    const body = xmlDocument("ListBucketResult", {
      ...common(request, result),
      Marker: result.encode(marker),
      ...(result.truncated && delimiter !== "" && nextMarker !== undefined
        ? { NextMarker: result.encode(nextMarker) }
        : {}),
      ...contents(result),
    });
    return { status: 200, headers: XML, body };
  },
};
