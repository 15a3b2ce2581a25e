import { createHash, randomBytes } from "node:crypto";
import {
  type ChecksumAlgorithm,
  combineCrcs,
  createChecksummer,
  isCombinable,
  parseChecksumAlgorithm,
} from "../body/checksums.ts";
import { ingestBody, readSmallBody } from "../body/ingest.ts";
import type { Operation, S3Request, StoreContext } from "../context.ts";
import { s3Error } from "../errors.ts";
import type { BlobRef } from "../storage/blobs.ts";
import type { Checksums, ObjectRecord, PartRecord, UploadRecord } from "../storage/catalog.ts";
import { parseXml, xmlDocument } from "../xml.ts";
import { contentEtag, copyBytes, copySource } from "./copy-object.ts";
import { checksumElements, checksumHeaders, storedHeaders } from "./object-headers.ts";
import { writePrecondition } from "./preconditions.ts";
import { parseRange } from "./range.ts";
import { encryptionHeaders, isEncrypted, kmsEtag } from "./sse.ts";

/** S3: every part but the last must be at least 5 MiB; at most 10,000 parts. */
const MIN_PART_SIZE = 5 * 1024 * 1024;
const MAX_PARTS = 10_000;
const XML = { "content-type": "application/xml" };
/**
 * How long a completed upload's answer is kept: a Complete retried after a
 * lost response (same part list) gets the same 200 as S3 gives, instead of
 * NoSuchUpload for an upload that did succeed.
 */
const COMPLETED_KEEP_MS = 15 * 60 * 1000;

function upload(request: S3Request, store: StoreContext): UploadRecord {
  store.catalog.requireBucket(request.bucket as string);
  return store.catalog.getUpload(
    request.bucket as string,
    request.key as string,
    request.query.get("uploadId") ?? "",
  );
}

function partNumber(request: S3Request): number {
  const value = request.query.get("partNumber") ?? "";
  if (!/^\d{1,5}$/.test(value) || Number(value) < 1 || Number(value) > MAX_PARTS) {
    throw s3Error("InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive");
  }
  return Number(value);
}

function integer(request: S3Request, name: string, fallback: number): number {
  const value = request.query.get(name);
  if (value === null) return fallback;
  if (!/^\d{1,9}$/.test(value)) throw s3Error("InvalidArgument", `Invalid ${name}.`);
  return Number(value);
}

const CHECKSUM_TYPE = "x-amz-checksum-type";

/**
 * x-amz-checksum-type of a new upload, as S3 defaults it: FULL_OBJECT for
 * CRC64NVME (its only type), COMPOSITE for the others; FULL_OBJECT only for CRCs.
 */
function checksumType(value: string | undefined, algorithm: ChecksumAlgorithm | undefined) {
  if (!algorithm) {
    if (value !== undefined)
      throw s3Error("InvalidRequest", "x-amz-checksum-type needs x-amz-checksum-algorithm.");
    return undefined;
  }
  const type = value?.toUpperCase() ?? (algorithm === "crc64nvme" ? "FULL_OBJECT" : "COMPOSITE");
  if (type !== "FULL_OBJECT" && type !== "COMPOSITE")
    throw s3Error("InvalidRequest", "x-amz-checksum-type must be FULL_OBJECT or COMPOSITE.");
  if (type === "FULL_OBJECT" ? !isCombinable(algorithm) : algorithm === "crc64nvme")
    throw s3Error(
      "InvalidRequest",
      `The ${type} checksum type cannot be used with the ${algorithm.toUpperCase()} checksum algorithm.`,
    );
  return type;
}

export const createMultipartUpload: Operation = {
  name: "CreateMultipartUpload",
  method: "POST",
  target: "object",
  subresources: ["uploads"],
  async handle(request, store) {
    const algorithm = request.header("x-amz-checksum-algorithm");
    const parsed = algorithm ? parseChecksumAlgorithm(algorithm) : undefined;
    const type = checksumType(request.header("x-amz-checksum-type"), parsed);
    const record: UploadRecord = {
      id: randomBytes(24).toString("base64url"),
      bucket: request.bucket as string,
      key: request.key as string,
      initiated: Date.now(),
      // The checksum type rides with the upload's headers (no schema change); Complete takes it out.
      headers: { ...storedHeaders(request), ...(type ? { [CHECKSUM_TYPE]: type } : {}) },
      ...(parsed ? { checksumAlgorithm: parsed } : {}),
    };
    store.catalog.createUpload(record);
    return {
      status: 200,
      headers: {
        ...XML,
        ...(algorithm ? { "x-amz-checksum-algorithm": algorithm.toUpperCase() } : {}),
        ...(type ? { [CHECKSUM_TYPE]: type } : {}),
        ...encryptionHeaders(record.headers),
      },
      body: xmlDocument("InitiateMultipartUploadResult", {
        Bucket: record.bucket,
        Key: record.key,
        UploadId: record.id,
      }),
    };
  },
};

function savePart(options: {
  request: S3Request;
  store: StoreContext;
  upload: UploadRecord;
  part: PartRecord;
  /** The part's blob is an object's (a whole copy): a failed save leaves it alone. */
  shared?: boolean;
}): void {
  const { store, upload: current, part } = options;
  const shared = options.shared ?? false;
  try {
    store.blobs.retire(
      store.catalog.putPart({ bucket: current.bucket, key: current.key, uploadId: current.id, part, shared }),
    );
  } catch (error) {
    // The upload was completed or aborted while this part streamed in.
    if (!shared) store.blobs.retire([{ id: part.blob, size: part.size }]);
    throw error;
  }
}

export const uploadPart: Operation = {
  name: "UploadPart",
  method: "PUT",
  target: "object",
  subresources: ["uploadId", "partNumber"],
  async handle(request, store) {
    const current = upload(request, store);
    const number = partNumber(request);
    const ingested = await ingestBody({
      request,
      store,
      encrypted: isEncrypted(current.headers),
      ...(current.checksumAlgorithm
        ? { checksumAlgorithm: current.checksumAlgorithm as ChecksumAlgorithm }
        : {}),
    });
    const part: PartRecord = {
      number,
      size: ingested.blob.size,
      etag: kmsEtag(current.headers) ?? `"${ingested.md5.toString("hex")}"`,
      modified: Date.now(),
      blob: ingested.blob.id,
      checksums: ingested.checksums,
      sse: ingested.blob.sse,
    };
    savePart({ request, store, upload: current, part });
    return {
      status: 200,
      headers: { etag: part.etag, ...checksumHeaders(part.checksums), ...encryptionHeaders(current.headers) },
    };
  },
};

export const uploadPartCopy: Operation = {
  name: "UploadPartCopy",
  method: "PUT",
  target: "object",
  subresources: ["uploadId", "partNumber"],
  header: "x-amz-copy-source",
  async handle(request, store) {
    const current = upload(request, store);
    const number = partNumber(request);
    const source = copySource(request, store);
    const rangeHeader = request.header("x-amz-copy-source-range");
    const range = parseRange(rangeHeader, source.size);
    if (rangeHeader !== undefined && !range)
      throw s3Error(
        "InvalidArgument",
        "The x-amz-copy-source-range value must be of the form bytes=first-last.",
      );
    const span = range ?? { start: 0, end: source.size - 1 };
    if (span.end - span.start + 1 > store.options.maxObjectSize) throw s3Error("EntityTooLarge");
    // A part is one blob: the source's own file is shared when the part is all of it
    // (and sealed, when the upload is encrypted).
    const encrypted = isEncrypted(current.headers);
    const whole =
      source.blobs.length === 1 &&
      span.start === 0 &&
      span.end === source.size - 1 &&
      (!encrypted || source.blobs[0]?.sse !== undefined);
    const copied = whole
      ? { blob: source.blobs[0] as BlobRef, etag: await contentEtag(store, source) }
      : await copyBytes({ store, source, span, encrypted }).then((c) => ({
          blob: c.blob,
          etag: `"${c.md5.toString("hex")}"`,
        }));
    const part: PartRecord = {
      number,
      size: copied.blob.size,
      etag: kmsEtag(current.headers) ?? copied.etag,
      modified: Date.now(),
      blob: copied.blob.id,
      checksums: {},
      sse: copied.blob.sse,
    };
    savePart({ request, store, upload: current, part, shared: whole });
    return {
      status: 200,
      headers: { ...XML, ...encryptionHeaders(current.headers) },
      body: xmlDocument("CopyPartResult", {
        ETag: part.etag,
        LastModified: new Date(part.modified).toISOString(),
      }),
    };
  },
};

interface RequestedPart {
  number: number;
  etag: string;
  checksums: Checksums;
}

function requestedParts(document: Record<string, unknown>): RequestedPart[] {
  const parts = document.Part;
  if (!Array.isArray(parts) || parts.length === 0 || parts.length > MAX_PARTS) throw s3Error("MalformedXML");
  return parts.map((item) => {
    const part = item as Record<string, unknown>;
    const number = String(part.PartNumber ?? "");
    if (!/^\d{1,5}$/.test(number) || typeof part.ETag !== "string") throw s3Error("MalformedXML");
    const checksums: Checksums = {};
    for (const [field, algorithm] of [
      ["ChecksumCRC32", "crc32"],
      ["ChecksumCRC32C", "crc32c"],
      ["ChecksumCRC64NVME", "crc64nvme"],
      ["ChecksumSHA1", "sha1"],
      ["ChecksumSHA256", "sha256"],
    ] as const) {
      if (typeof part[field] === "string") checksums[algorithm] = part[field] as string;
    }
    return { number: Number(number), etag: part.ETag.replace(/"/g, ""), checksums };
  });
}

/** S3's composite checksum of a multipart object: checksum of the parts' checksums, "-N". */
function compositeChecksum(algorithm: ChecksumAlgorithm, parts: PartRecord[]): Checksums {
  const checksummer = createChecksummer(algorithm);
  for (const part of parts) {
    const value = part.checksums[algorithm];
    if (value === undefined) return {};
    checksummer.update(Buffer.from(value, "base64"));
  }
  return { [algorithm]: `${checksummer.digest()}-${parts.length}` };
}

/** The object's checksum at Complete: FULL_OBJECT CRCs combined from the parts', else COMPOSITE. */
function objectChecksum(
  algorithm: ChecksumAlgorithm | undefined,
  type: string | undefined,
  parts: PartRecord[],
): Checksums {
  if (!algorithm) return {};
  if (type !== "FULL_OBJECT") return compositeChecksum(algorithm, parts);
  const crcs = parts.map((part) => ({ crc: part.checksums[algorithm], size: part.size }));
  if (crcs.some((part) => part.crc === undefined)) return {};
  return { [algorithm]: combineCrcs(algorithm, crcs as Array<{ crc: string; size: number }>) };
}

const partList = (parts: readonly RequestedPart[]) =>
  parts.map((part) => `${part.number}:${part.etag}`).join(",");

async function readRequestedParts(request: S3Request): Promise<RequestedPart[]> {
  const body = await readSmallBody(request, 4 * 1024 * 1024, { checksumHeadersAreNotTheBody: true });
  return requestedParts(parseXml(body, "CompleteMultipartUpload"));
}

function completeResult(options: {
  bucket: string;
  key: string;
  etag: string;
  checksums: Checksums;
  encryption?: Record<string, string>;
}) {
  return {
    status: 200,
    headers: { ...XML, ...checksumHeaders(options.checksums), ...options.encryption },
    body: xmlDocument("CompleteMultipartUploadResult", {
      Location: `/${options.bucket}/${options.key}`,
      Bucket: options.bucket,
      Key: options.key,
      ETag: options.etag,
    }),
  };
}

export const completeMultipartUpload: Operation = {
  name: "CompleteMultipartUpload",
  method: "POST",
  target: "object",
  subresources: ["uploadId"],
  async handle(request, store) {
    const bucket = request.bucket as string;
    const key = request.key as string;
    store.catalog.requireBucket(bucket);
    const done = store.catalog.completedUpload({
      bucket,
      key,
      id: request.query.get("uploadId") ?? "",
      keepMs: COMPLETED_KEEP_MS,
    });
    if (done) {
      // A retry: the same part list gets the same answer; another one finds no upload any more.
      if (partList(await readRequestedParts(request)) !== done.parts) throw s3Error("NoSuchUpload");
      return completeResult({ bucket, key, etag: done.etag, checksums: done.checksums });
    }
    const current = upload(request, store);
    const wanted = await readRequestedParts(request);
    const precondition = writePrecondition(request);
    const { [CHECKSUM_TYPE]: type, ...headers } = current.headers;
    // The whole object's checksum the client sent (x-amz-checksum-<algorithm>) must be the one computed.
    const sent = current.checksumAlgorithm
      ? request.header(`x-amz-checksum-${current.checksumAlgorithm}`)
      : undefined;
    const build = (stored: Map<number, PartRecord>) => {
      const chosen: PartRecord[] = [];
      for (const [index, want] of wanted.entries()) {
        if (index > 0 && want.number <= (wanted[index - 1] as RequestedPart).number)
          throw s3Error("InvalidPartOrder");
        const part = stored.get(want.number);
        if (!part || part.etag.replace(/"/g, "") !== want.etag) throw s3Error("InvalidPart");
        for (const [algorithm, value] of Object.entries(want.checksums) as Array<
          [ChecksumAlgorithm, string]
        >) {
          if (part.checksums[algorithm] !== undefined && part.checksums[algorithm] !== value)
            throw s3Error("InvalidPart");
        }
        chosen.push(part);
      }
      for (const part of chosen.slice(0, -1)) {
        if (part.size < MIN_PART_SIZE) throw s3Error("EntityTooSmall");
      }
      const md5s = createHash("md5");
      for (const part of chosen) md5s.update(Buffer.from(part.etag.replace(/"/g, ""), "hex"));
      const object: ObjectRecord = {
        bucket: current.bucket,
        key: current.key,
        size: chosen.reduce((sum, part) => sum + part.size, 0),
        etag: `"${md5s.digest("hex")}-${chosen.length}"`,
        modified: Date.now(),
        headers,
        checksums: objectChecksum(current.checksumAlgorithm as ChecksumAlgorithm | undefined, type, chosen),
        blobs: chosen.map((part) => ({
          id: part.blob,
          size: part.size,
          ...(part.sse ? { sse: part.sse } : {}),
        })),
        parts: chosen.length,
        ...(chosen.some((part) => Object.keys(part.checksums).length > 0)
          ? { partChecksums: chosen.map((part) => part.checksums) }
          : {}),
      };
      const computed = Object.values(object.checksums)[0];
      if (
        sent !== undefined &&
        computed !== undefined &&
        sent !== computed &&
        `${sent}-${chosen.length}` !== computed
      )
        throw s3Error("BadDigest", "The checksum you specified did not match the calculated checksum.");
      return { object, parts: partList(wanted) };
    };
    const { object, retired } = store.catalog.completeUpload({
      upload: current,
      build,
      precondition,
      requestId: request.id,
      keepMs: COMPLETED_KEEP_MS,
    });
    store.blobs.retire(retired);
    return completeResult({ ...object, encryption: encryptionHeaders(object.headers) });
  },
};

export const abortMultipartUpload: Operation = {
  name: "AbortMultipartUpload",
  method: "DELETE",
  target: "object",
  subresources: ["uploadId"],
  async handle(request, store) {
    const current = upload(request, store);
    store.blobs.retire(store.catalog.abortUpload(current.bucket, current.key, current.id));
    return { status: 204 };
  },
};

export const listParts: Operation = {
  name: "ListParts",
  method: "GET",
  target: "object",
  subresources: ["uploadId"],
  async handle(request, store) {
    const current = upload(request, store);
    const maxParts = Math.min(integer(request, "max-parts", 1000), 1000);
    const marker = integer(request, "part-number-marker", 0);
    const parts = store.catalog.listParts(current.id, marker, maxParts + 1);
    const truncated = parts.length > maxParts;
    const shown = parts.slice(0, maxParts);
    const owner = { ID: "sluice", DisplayName: "sluice" };
    return {
      status: 200,
      headers: XML,
      body: xmlDocument("ListPartsResult", {
        Bucket: current.bucket,
        Key: current.key,
        UploadId: current.id,
        Initiator: owner,
        Owner: owner,
        StorageClass: "STANDARD",
        PartNumberMarker: marker,
        NextPartNumberMarker: shown.at(-1)?.number ?? marker,
        MaxParts: maxParts,
        IsTruncated: truncated,
        Part: shown.map((part) => ({
          PartNumber: part.number,
          LastModified: new Date(part.modified).toISOString(),
          ETag: part.etag,
          Size: part.size,
          ...checksumElements(part.checksums),
        })),
      }),
    };
  },
};

export const listMultipartUploads: Operation = {
  name: "ListMultipartUploads",
  method: "GET",
  target: "bucket",
  subresources: ["uploads"],
  async handle(request, store) {
    const bucket = request.bucket as string;
    store.catalog.requireBucket(bucket);
    const maxUploads = Math.min(integer(request, "max-uploads", 1000), 1000);
    const keyMarker = request.query.get("key-marker") ?? "";
    const uploadIdMarker = request.query.get("upload-id-marker") ?? "";
    const prefix = request.query.get("prefix") ?? "";
    const delimiter = request.query.get("delimiter") ?? "";
    const { entries, truncated } = store.catalog.listUploads({
      bucket,
      prefix,
      delimiter,
      keyMarker,
      uploadIdMarker,
      limit: maxUploads,
    });
    const last = entries.at(-1);
    const owner = { ID: "sluice", DisplayName: "sluice" };
    return {
      status: 200,
      headers: XML,
      body: xmlDocument("ListMultipartUploadsResult", {
        Bucket: bucket,
        KeyMarker: keyMarker,
        UploadIdMarker: uploadIdMarker,
        ...(truncated && last
          ? "upload" in last
            ? { NextKeyMarker: last.upload.key, NextUploadIdMarker: last.upload.id }
            : { NextKeyMarker: last.prefix }
          : {}),
        Prefix: prefix,
        ...(delimiter ? { Delimiter: delimiter } : {}),
        MaxUploads: maxUploads,
        IsTruncated: truncated,
        Upload: entries.flatMap((entry) =>
          "upload" in entry
            ? [
                {
                  Key: entry.upload.key,
                  UploadId: entry.upload.id,
                  Initiator: owner,
                  Owner: owner,
                  Initiated: new Date(entry.upload.initiated).toISOString(),
                  StorageClass: "STANDARD",
                },
              ]
            : [],
        ),
        CommonPrefixes: entries.flatMap((entry) => ("prefix" in entry ? [{ Prefix: entry.prefix }] : [])),
      }),
    };
  },
};
