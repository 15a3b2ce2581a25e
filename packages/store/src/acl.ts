import { readSmallBody } from "./body/ingest.ts";
import type { Operation, RequestTarget, S3Request, StoreContext, StoreExtension } from "./context.ts";
import { s3Error } from "./errors.ts";
import type { ObjectRecord } from "./storage/catalog.ts";
import { parseXml, xmlList } from "./xml.ts";

/**
 * Canned ACLs (S3 "Access control list (ACL) overview"). Every access key of
 * the store owns every bucket, so the only grants that change anything are
 * those to everyone (AllUsers): public-read lets anonymous clients read an
 * object (or list a bucket), public-read-write also lets them write into a
 * bucket. Object ACLs travel with the object version (its stored
 * `x-amz-acl`), bucket ACLs are a bucket setting.
 */
const CANNED = [
  "private",
  "public-read",
  "public-read-write",
  "authenticated-read",
  "aws-exec-read",
  "bucket-owner-read",
  "bucket-owner-full-control",
] as const;
export type CannedAcl = (typeof CANNED)[number];

const ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers";
const OWNER_ID = "sluice";

export function parseCannedAcl(value: string): CannedAcl {
  const acl = CANNED.find((name) => name === value.trim().toLowerCase());
  if (!acl) throw s3Error("InvalidArgument", `Invalid canned ACL: ${value.slice(0, 64)}`);
  return acl;
}

/** A copy gets the ACL its request names (private by default), never the source's. */
export function copiedHeaders(source: Record<string, string>, request: S3Request): Record<string, string> {
  const { "x-amz-acl": _sourceAcl, ...headers } = source;
  const acl = request.header("x-amz-acl");
  return acl === undefined ? headers : { ...headers, "x-amz-acl": parseCannedAcl(acl) };
}

const publicRead = (acl: string | undefined) => acl === "public-read" || acl === "public-read-write";

function bucketAcl(store: StoreContext, bucket: string): CannedAcl {
  return store.settings.get<CannedAcl>(bucket, "acl") ?? "private";
}

// Operations anonymous clients may call when the bucket's or object's ACL allows it.
const BUCKET_READ = new Set(["ListObjects", "ListObjectsV2", "HeadBucket"]);
// GetObjectAttributes needs READ on the object, as GetObject (S3 docs).
const OBJECT_READ = new Set(["GetObject", "HeadObject", "GetObjectAttributes"]);
const BUCKET_WRITE = new Set([
  "PutObject",
  "DeleteObject",
  "CreateMultipartUpload",
  "UploadPart",
  "CompleteMultipartUpload",
  "AbortMultipartUpload",
]);

/** May an anonymous request run this operation? (Authenticated requests are always owners here.) */
export function allowsAnonymous(request: RequestTarget, operationName: string, store: StoreContext): boolean {
  const bucket = request.bucket;
  if (bucket === undefined || !store.catalog.hasBucket(bucket)) return false;
  const ofBucket = bucketAcl(store, bucket);
  if (BUCKET_READ.has(operationName)) return publicRead(ofBucket);
  if (BUCKET_WRITE.has(operationName)) return ofBucket === "public-read-write";
  if (OBJECT_READ.has(operationName)) {
    const object = store.catalog.getObject(bucket, request.key as string);
    // A missing key is 404 only to those who may list the bucket, else 403 (as S3).
    return object ? publicRead(object.headers["x-amz-acl"]) : publicRead(ofBucket);
  }
  return false;
}

function grantsXml(acl: string | undefined): string {
  const grant = (grantee: string, permission: string) =>
    `<Grant>${grantee}<Permission>${permission}</Permission></Grant>`;
  const owner = `<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>${OWNER_ID}</ID><DisplayName>${OWNER_ID}</DisplayName></Grantee>`;
  const everyone = `<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group"><URI>${ALL_USERS}</URI></Grantee>`;
  const grants = [grant(owner, "FULL_CONTROL")];
  if (publicRead(acl)) grants.push(grant(everyone, "READ"));
  if (acl === "public-read-write") grants.push(grant(everyone, "WRITE"));
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
    `<Owner><ID>${OWNER_ID}</ID><DisplayName>${OWNER_ID}</DisplayName></Owner>` +
    `<AccessControlList>${grants.join("")}</AccessControlList></AccessControlPolicy>`
  );
}

/**
 * The ACL a PutBucketAcl/PutObjectAcl asks for: the x-amz-acl header, or an
 * AccessControlPolicy whose AllUsers grants map onto a canned ACL. Other
 * grantees are the owner (already full control) or not supported.
 */
async function requestedAcl(request: S3Request): Promise<CannedAcl> {
  const header = request.header("x-amz-acl");
  const body = await readSmallBody(request, 64 * 1024);
  if (header !== undefined) {
    if (body.trim() !== "")
      throw s3Error("InvalidRequest", "Specify either x-amz-acl or a policy body, not both.");
    return parseCannedAcl(header);
  }
  if (body.trim() === "") throw s3Error("MalformedXML");
  const policy = parseXml(body, "AccessControlPolicy");
  const list = policy.AccessControlList;
  if (list !== undefined && (typeof list !== "object" || list === null)) throw s3Error("MalformedXML");
  const permissions = new Set<string>();
  for (const grant of xmlList((list as { Grant?: unknown } | undefined)?.Grant)) {
    if (typeof grant !== "object" || grant === null) throw s3Error("MalformedXML");
    const { Grantee: grantee, Permission: permission } = grant as { Grantee?: unknown; Permission?: unknown };
    if (typeof grantee !== "object" || grantee === null || typeof permission !== "string")
      throw s3Error("MalformedXML");
    const { URI: uri, ID: id } = grantee as { URI?: unknown; ID?: unknown };
    if (uri === ALL_USERS) permissions.add(permission);
    else if (id === undefined && uri !== undefined)
      throw s3Error("NotImplemented", "Only grants to the owner and to AllUsers are supported.");
  }
  if (permissions.has("WRITE") || permissions.has("FULL_CONTROL")) return "public-read-write";
  return permissions.has("READ") ? "public-read" : "private";
}

const XML = { "content-type": "application/xml" };

function existingObject(request: S3Request, store: StoreContext): ObjectRecord {
  store.catalog.requireBucket(request.bucket as string);
  const object = store.catalog.getObject(request.bucket as string, request.key as string);
  if (!object) throw s3Error("NoSuchKey");
  return object;
}

const getBucketAcl: Operation = {
  name: "GetBucketAcl",
  method: "GET",
  target: "bucket",
  subresources: ["acl"],
  async handle(request, store) {
    store.catalog.requireBucket(request.bucket as string);
    return { status: 200, headers: XML, body: grantsXml(bucketAcl(store, request.bucket as string)) };
  },
};

const putBucketAcl: Operation = {
  name: "PutBucketAcl",
  method: "PUT",
  target: "bucket",
  subresources: ["acl"],
  async handle(request, store) {
    store.catalog.requireBucket(request.bucket as string);
    store.settings.set(request.bucket as string, "acl", await requestedAcl(request));
    return { status: 200 };
  },
};

const getObjectAcl: Operation = {
  name: "GetObjectAcl",
  method: "GET",
  target: "object",
  subresources: ["acl"],
  async handle(request, store) {
    return {
      status: 200,
      headers: XML,
      body: grantsXml(existingObject(request, store).headers["x-amz-acl"]),
    };
  },
};

const putObjectAcl: Operation = {
  name: "PutObjectAcl",
  method: "PUT",
  target: "object",
  subresources: ["acl"],
  async handle(request, store) {
    existingObject(request, store);
    const acl = await requestedAcl(request);
    const current = existingObject(request, store);
    // Same version, new ACL: committed only if no write replaced it meanwhile; the blobs stay.
    store.catalog.putObject(
      { ...current, headers: { ...current.headers, "x-amz-acl": acl } },
      {
        precondition: (now) => {
          if (now?.etag !== current.etag || now.modified !== current.modified) throw s3Error("NoSuchKey");
        },
      },
    );
    return { status: 200 };
  },
};

function isCreateBucket(target: RequestTarget): boolean {
  return (
    target.method === "PUT" &&
    target.bucket !== undefined &&
    target.key === undefined &&
    target.query.size === 0
  );
}

/** Canned ACLs: the ?acl operations, x-amz-acl on CreateBucket, and anonymous access. */
export function aclExtension(): StoreExtension {
  return {
    operations: [getBucketAcl, putBucketAcl, getObjectAcl, putObjectAcl],
    async intercept(target) {
      // A bad canned ACL fails CreateBucket before the bucket exists.
      const acl = target.header("x-amz-acl");
      if (acl !== undefined && isCreateBucket(target)) parseCannedAcl(acl);
      return undefined;
    },
    authorize(request, operation, store) {
      return allowsAnonymous(request, operation.name, store) ? "allow" : undefined;
    },
    completed({ request, operation }, store) {
      const acl = request.header("x-amz-acl");
      if (operation.name === "CreateBucket" && acl !== undefined)
        store.settings.set(request.bucket as string, "acl", parseCannedAcl(acl));
    },
  };
}
