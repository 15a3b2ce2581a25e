import type { Operation, S3Request, S3Response } from "../context.ts";
import { s3Error } from "../errors.ts";
import type { ObjectRecord } from "../storage/catalog.ts";
import { type XmlElements, xmlDocument } from "../xml.ts";
import { checksumElements, checksumHeaders } from "./object-headers.ts";
import { checkReadPreconditions } from "./preconditions.ts";

const ATTRIBUTES = ["ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"] as const;
type Attribute = (typeof ATTRIBUTES)[number];

/** x-amz-object-attributes: the attributes asked for, comma-separated (Node joins a repeated header the same way). */
function requestedAttributes(request: S3Request): Set<Attribute> {
  const names = (request.header("x-amz-object-attributes") ?? "")
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name !== "");
  if (names.length === 0)
    throw s3Error(
      "InvalidArgument",
      "The x-amz-object-attributes header specifying the attributes to be retrieved is either missing or empty",
    );
  const unknown = names.find((name) => !(ATTRIBUTES as readonly string[]).includes(name));
  if (unknown !== undefined) throw s3Error("InvalidArgument", `Invalid attribute name specified: ${unknown}`);
  return new Set(names as Attribute[]);
}

function headerInteger(request: S3Request, name: string, fallback: number): number {
  const value = request.header(name);
  if (value === undefined) return fallback;
  if (!/^\d{1,9}$/.test(value)) throw s3Error("InvalidArgument", `Invalid ${name}.`);
  return Number(value);
}

/**
 * The parts of a multipart object (PartsCount); the parts themselves, a page
 * at a time, only when it was uploaded with checksums, as S3 lists them.
 */
function objectParts(request: S3Request, record: ObjectRecord): XmlElements | undefined {
  if (record.parts === undefined) return undefined;
  const maxParts = Math.min(headerInteger(request, "x-amz-max-parts", 1000), 1000);
  const marker = headerInteger(request, "x-amz-part-number-marker", 0);
  const checksums = record.partChecksums;
  if (!checksums || record.blobs.length !== record.parts) return { PartsCount: record.parts };
  const shown = checksums
    .map((partChecksums, index) => ({
      number: index + 1,
      size: (record.blobs[index] as { size: number }).size,
      partChecksums,
    }))
    .filter((part) => part.number > marker);
  const page = shown.slice(0, maxParts);
  return {
    PartsCount: record.parts,
    PartNumberMarker: marker,
    NextPartNumberMarker: page.at(-1)?.number ?? marker,
    MaxParts: maxParts,
    IsTruncated: shown.length > maxParts,
    Part: page.map((part) => ({
      PartNumber: part.number,
      Size: part.size,
      ...checksumElements(part.partChecksums),
    })),
  };
}

/** The object's checksum and its type; S3 gives a composite one without its "-N" here (unlike HEAD). */
function checksum(record: ObjectRecord): XmlElements | undefined {
  const headers = checksumHeaders(record.checksums);
  const type = headers["x-amz-checksum-type"];
  if (type === undefined) return undefined;
  const bare = Object.fromEntries(
    Object.entries(record.checksums).map(([algorithm, value]) => [algorithm, value.replace(/-\d+$/, "")]),
  );
  return { ...checksumElements(bare), ChecksumType: type };
}

/** GET ?attributes: an object's metadata without its body, the attributes asked for only. */
export const getObjectAttributes: Operation = {
  name: "GetObjectAttributes",
  method: "GET",
  target: "object",
  subresources: ["attributes"],
  async handle(request, store): Promise<S3Response> {
    store.catalog.requireBucket(request.bucket as string);
    const wanted = requestedAttributes(request);
    const record = store.catalog.getObject(request.bucket as string, request.key as string);
    if (!record) throw s3Error("NoSuchKey");
    const lastModified = new Date(record.modified).toUTCString();
    if (checkReadPreconditions(request, record) === "not-modified")
      return { status: 304, headers: { etag: record.etag, "last-modified": lastModified } };
    const attributes: XmlElements = {
      ETag: wanted.has("ETag") ? record.etag.replace(/"/g, "") : undefined,
      Checksum: wanted.has("Checksum") ? checksum(record) : undefined,
      ObjectParts: wanted.has("ObjectParts") ? objectParts(request, record) : undefined,
      StorageClass: wanted.has("StorageClass") ? "STANDARD" : undefined,
      ObjectSize: wanted.has("ObjectSize") ? record.size : undefined,
    };
    return {
      status: 200,
      headers: { "content-type": "application/xml", "last-modified": lastModified },
      body: xmlDocument("GetObjectAttributesResponse", attributes),
    };
  },
};
