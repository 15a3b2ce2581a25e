import type { Operation, OperationTarget, RequestTarget } from "./context.ts";
import { s3Error } from "./errors.ts";

// Sub-resources S3 knows: a request naming one we do not implement is 501,
// never silently treated as a plain GET/PUT of the object or bucket.
const S3_SUBRESOURCES = new Set([
  "accelerate",
  "acl",
  "analytics",
  "attributes",
  "cors",
  "delete",
  "encryption",
  "intelligent-tiering",
  "inventory",
  "legal-hold",
  "lifecycle",
  "location",
  "logging",
  "metrics",
  "notification",
  "object-lock",
  "ownershipControls",
  "policy",
  "policyStatus",
  "publicAccessBlock",
  "replication",
  "requestPayment",
  "restore",
  "retention",
  "select",
  "tagging",
  "torrent",
  "uploadId",
  "uploads",
  "versioning",
  "versions",
  "website",
  "partNumber",
  "versionId",
]);

function targetOf(request: RequestTarget): OperationTarget {
  if (request.bucket === undefined) return "service";
  return request.key === undefined ? "bucket" : "object";
}

function specificity(operation: Operation): number {
  return (operation.subresources?.length ?? 0) * 2 + (operation.header ? 1 : 0);
}

/**
 * Picks the operation for a request: same method and target, every selector
 * (sub-resource, header) present, the most specific first. HEAD falls back on
 * nothing: it has its own operations.
 */
export function route(operations: readonly Operation[], request: RequestTarget): Operation {
  const target = targetOf(request);
  const candidates = operations
    .filter((op) => op.method === request.method && op.target === target)
    .filter(
      (op) =>
        (op.subresources ?? []).every((name) => request.query.has(name)) &&
        (op.header === undefined || request.header(op.header) !== undefined),
    )
    .sort((a, b) => specificity(b) - specificity(a));
  const chosen = candidates[0];
  const unhandled = [...request.query.keys()].find(
    (name) => S3_SUBRESOURCES.has(name) && !chosen?.subresources?.includes(name),
  );
  if (!chosen || unhandled !== undefined) {
    if (!["GET", "HEAD", "PUT", "POST", "DELETE"].includes(request.method)) throw s3Error("MethodNotAllowed");
    throw s3Error(
      "NotImplemented",
      `${request.method} on this resource${unhandled ? ` with ?${unhandled}` : ""} is not implemented.`,
    );
  }
  return chosen;
}
