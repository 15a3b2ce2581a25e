import { rm } from "node:fs/promises";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { isSluiceError, SluiceError } from "@sluice/core";
import { type CheckedPostPolicy, checkPostPolicy, expandFormFields } from "@sluice/sigv4";
import busboy from "busboy";
import { allowsAnonymous, parseCannedAcl } from "../acl.ts";
import { assertValidKey } from "../addressing.ts";
import { assertChecksumShape, checksumFromHeaderName } from "../body/checksums.ts";
import { DigestTap, verifyDigests } from "../body/digest.ts";
import type {
  AuthResult,
  RequestTarget,
  S3Request,
  S3Response,
  StoreContext,
  StoreExtension,
} from "../context.ts";
import { s3Error } from "../errors.ts";
import type { Checksums, ObjectRecord } from "../storage/catalog.ts";
import { xmlDocument } from "../xml.ts";
import { commitObject } from "./objects.ts";
import { encryptionHeaders, isEncrypted, kmsEtag, requestedEncryption } from "./sse.ts";

/**
 * Browser POST uploads (S3 PostObject): a multipart/form-data form posted to
 * the bucket URL, authorised by a signed policy (checkPostPolicy in
 * @sluice/sigv4). The form is parsed as a stream (busboy): the fields before
 * the file are kept (bounded), the file streams straight into a blob with
 * content-length-range enforced as it arrives, and fields after it are
 * ignored, as S3 does.
 */

/** Each field before the file, and all of them together, are bounded so the form cannot fill memory. */
export const MAX_FIELD_BYTES = 20 * 1024;
export const MAX_FIELDS_BYTES = 1024 * 1024;
const MAX_FIELDS = 200;

// Form fields stored with the object like the headers of a PUT.
const STORED_FIELDS = ["content-type", "content-disposition", "cache-control", "content-encoding", "expires"];

const malformed = () =>
  new SluiceError({
    code: "MalformedPOSTRequest",
    status: 400,
    message: "The body of your POST request is not well-formed multipart/form-data.",
  });
const tooMuchPreData = () =>
  new SluiceError({
    code: "MaxPostPreDataLengthExceededError",
    status: 400,
    message: "Your POST request fields preceding the upload file were too large.",
  });

interface FormFile {
  stream: Readable;
  filename: string;
}

/**
 * Reads the form up to its file; resolves with the fields and the file still
 * streaming. As S3 does, the part named `file` is the file and every other
 * part is a field, whatever its Content-Disposition says: Python `requests`
 * (`files=`) and other clients send `filename=` on every part.
 */
function readForm(
  raw: RequestTarget["raw"],
): Promise<{ fields: Map<string, string>; file: FormFile; done: Promise<void> }> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: raw.headers,
        // Browsers send the file's name as raw UTF-8 in Content-Disposition; busboy's default is latin1.
        defParamCharset: "utf8",
        limits: { fieldSize: MAX_FIELD_BYTES, fields: MAX_FIELDS, fieldNameSize: 256, parts: MAX_FIELDS + 2 },
      });
    } catch {
      reject(malformed());
      return;
    }
    const fields = new Map<string, string>();
    let total = 0;
    let file: FormFile | undefined;
    let failed = false;
    // Fields sent as file parts are read in full before the file is handed on, so none is missed.
    let pending: Promise<void> = Promise.resolve();
    const stop = (error: SluiceError) => {
      failed = true;
      raw.unpipe(parser);
      reject(error);
    };
    const done = new Promise<void>((finish, fail) => {
      parser.on("close", finish);
      parser.on("error", (error) => {
        if (file) fail(malformed());
        stop(isSluiceError(error) ? error : malformed());
      });
    });
    done.catch(() => {});
    const addField = (name: string, value: string) => {
      total += name.length + value.length;
      if (total > MAX_FIELDS_BYTES) return stop(tooMuchPreData());
      // Repeated fields count as one, their values joined by commas (S3 docs, "HTML Forms").
      const lower = name.toLowerCase();
      const previous = fields.get(lower);
      fields.set(lower, previous === undefined ? value : `${previous},${value}`);
    };
    const takeFile = (found: FormFile) => {
      file = found;
      pending.then(() => {
        if (!failed) resolve({ fields, file: found, done });
      });
    };
    parser.on("field", (name, value, info) => {
      if (file) return; // after the file: ignored, as S3 does
      if (info.nameTruncated || info.valueTruncated) return stop(tooMuchPreData());
      // Text content posted as the "file" field.
      if (name.toLowerCase() === "file")
        takeFile({ stream: Readable.from([Buffer.from(value, "utf8")]), filename: "" });
      else addField(name, value);
    });
    parser.on("file", (name, stream, info) => {
      if (file) return void stream.resume(); // after the file: ignored
      if (name.toLowerCase() === "file") return takeFile({ stream, filename: info.filename ?? "" });
      const chunks: Buffer[] = [];
      let size = 0;
      const read = new Promise<void>((finish) => {
        stream.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size <= MAX_FIELD_BYTES) chunks.push(chunk);
        });
        stream.on("end", () => {
          if (size > MAX_FIELD_BYTES) stop(tooMuchPreData());
          else addField(name, Buffer.concat(chunks).toString("utf8"));
          finish();
        });
      });
      pending = pending.then(() => read);
    });
    parser.on("fieldsLimit", () => stop(tooMuchPreData()));
    parser.on("partsLimit", () => stop(tooMuchPreData()));
    parser.on("close", () => {
      if (!file) reject(s3Error("InvalidArgument", "POST requires exactly one file upload per request."));
    });
    raw.pipe(parser);
  });
}

/** Who may write: the policy's signer, or anyone when the bucket is public-read-write and no policy is sent. */
function authorise(
  target: RequestTarget,
  fields: Map<string, string>,
  store: StoreContext,
): { auth: AuthResult; policy?: CheckedPostPolicy } {
  const signed = fields.has("policy") || fields.has("x-amz-signature") || fields.has("signature");
  if (!signed) {
    if (!allowsAnonymous(target, "PutObject", store)) throw s3Error("AccessDenied");
    return { auth: { kind: "anonymous" } };
  }
  const policy = checkPostPolicy({
    fields,
    bucket: target.bucket as string,
    secretFor: (id) => store.options.secrets.get(id),
    region: store.options.region,
    allowSignatureV2: store.options.allowSignatureV2,
  });
  return {
    auth: { kind: "other", scheme: `post-policy-${policy.scheme}`, accessKeyId: policy.accessKeyId },
    policy,
  };
}

function objectKey(fields: Map<string, string>): string {
  const key = fields.get("key");
  if (key === undefined || key === "")
    throw s3Error(
      "InvalidArgument",
      "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.",
    );
  assertValidKey(key);
  return key;
}

function storedFields(fields: Map<string, string>): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of fields) {
    if (STORED_FIELDS.includes(name) || name.startsWith("x-amz-meta-")) {
      if (/[\r\n]/.test(value)) throw s3Error("InvalidArgument", `Invalid value for ${name}.`);
      // Kept as the UTF-8 bytes a header would carry (node:http reads and writes header bytes as latin1).
      headers[name] = Buffer.from(value, "utf8").toString("latin1");
    }
  }
  const acl = fields.get("acl");
  if (acl !== undefined) headers["x-amz-acl"] = parseCannedAcl(acl);
  headers["content-type"] ??= "binary/octet-stream";
  return { ...headers, ...requestedEncryption((name) => fields.get(name)) };
}

/** x-amz-checksum-* form fields: the file must hash to them (400 BadDigest), and they are stored. */
function declaredChecksums(fields: Map<string, string>): Checksums {
  const checksums: Checksums = {};
  for (const [name, value] of fields) {
    const algorithm = checksumFromHeaderName(name);
    if (!algorithm) continue;
    assertChecksumShape(algorithm, value);
    checksums[algorithm] = value;
  }
  return checksums;
}

/** Streams the file into a new blob, enforcing the policy's size range and checksums; nothing is kept on failure. */
async function storeFile(options: {
  file: FormFile;
  store: StoreContext;
  checksums: Checksums;
  range?: { min: number; max: number };
  encrypted: boolean;
}) {
  const { store, range, checksums } = options;
  const limit = Math.min(range?.max ?? Number.POSITIVE_INFINITY, store.options.maxObjectSize);
  const compute = Object.keys(checksums) as Array<keyof Checksums>;
  const tap = new DigestTap({ compute, limit });
  const blob = await store.blobs.create({ encrypted: options.encrypted });
  const { id, path } = blob;
  try {
    await pipeline([options.file.stream, tap, ...blob.sink()]);
    if (range && tap.size < range.min) throw s3Error("EntityTooSmall");
    const computed = tap.result();
    verifyDigests({ declared: { checksums, trailer: [], compute }, computed, trailers: new Map() });
    await store.blobs.sync(id);
    return { blob: blob.ref(tap.size), md5: computed.md5, checksums: computed.checksums };
  } catch (error) {
    await rm(path, { force: true });
    if (!isSluiceError(error)) throw s3Error("IncompleteBody");
    throw error;
  }
}

function answer(options: {
  fields: Map<string, string>;
  record: ObjectRecord;
  location: string;
}): S3Response {
  const { fields, record, location } = options;
  const headers = { etag: record.etag, location, ...encryptionHeaders(record.headers) };
  const redirect = fields.get("success_action_redirect") ?? fields.get("redirect");
  if (redirect) {
    try {
      const url = new URL(redirect);
      url.searchParams.set("bucket", record.bucket);
      url.searchParams.set("key", record.key);
      url.searchParams.set("etag", record.etag);
      return { status: 303, headers: { ...headers, location: url.href } };
    } catch {
      // Not a URL: S3 falls back to success_action_status.
    }
  }
  const status = fields.get("success_action_status");
  if (status === "200") return { status: 200, headers };
  if (status === "201")
    return {
      status: 201,
      headers: { ...headers, "content-type": "application/xml" },
      body: xmlDocument("PostResponse", {
        Location: location,
        Bucket: record.bucket,
        Key: record.key,
        ETag: record.etag,
      }),
    };
  return { status: 204, headers };
}

async function postObject(target: RequestTarget, store: StoreContext): Promise<S3Response> {
  const bucket = target.bucket as string;
  store.catalog.requireBucket(bucket);
  const form = await readForm(target.raw);
  const { file, done } = form;
  // ${filename} is expanded before anything reads the fields: the policy is checked against what is stored.
  const fields = expandFormFields(form.fields, file.filename);
  let auth: AuthResult;
  let key: string;
  let headers: Record<string, string>;
  let stored: Awaited<ReturnType<typeof storeFile>>;
  try {
    key = objectKey(fields);
    const authorised = authorise(target, fields, store);
    auth = authorised.auth;
    headers = storedFields(fields);
    const range = authorised.policy?.contentLengthRange;
    stored = await storeFile({
      file,
      store,
      checksums: declaredChecksums(fields),
      encrypted: isEncrypted(headers),
      ...(range ? { range } : {}),
    });
  } catch (error) {
    // Refused: stop reading the form; the connection closes after the error.
    target.raw.unpipe();
    file.stream.resume();
    throw error;
  }
  // Fields after the file are read and ignored, so the client gets the answer on a clean connection.
  await done.catch(() => {});
  const request: S3Request = { ...target, key, auth, body: target.raw, trailers: new Map() };
  const record: ObjectRecord = {
    bucket,
    key,
    size: stored.blob.size,
    etag: kmsEtag(headers) ?? `"${stored.md5.toString("hex")}"`,
    modified: Date.now(),
    headers,
    checksums: stored.checksums,
    blobs: [stored.blob],
  };
  commitObject({ store, request, record, operation: "Post" });
  const host = target.header("host") ?? "localhost";
  const location = `http://${host}/${encodeURIComponent(bucket)}/${encodeURIComponent(key)}`;
  return answer({ fields, record, location });
}

function isFormPost(target: RequestTarget): boolean {
  return (
    target.method === "POST" &&
    target.bucket !== undefined &&
    target.key === undefined &&
    target.query.size === 0 &&
    /^multipart\/form-data\b/i.test(target.header("content-type") ?? "")
  );
}

/** PostObject: answers form posts to a bucket before SigV4 authentication (the policy is the auth). */
export function postObjectExtension(): StoreExtension {
  return {
    async intercept(target, store) {
      return isFormPost(target) ? postObject(target, store) : undefined;
    },
  };
}
