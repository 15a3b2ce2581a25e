import { randomBytes } from "node:crypto";
import { SluiceError } from "@sluice/core";
import { escapeXml } from "./xml.ts";

/**
 * S3's own error codes with their HTTP status and default message (S3 API
 * reference, "Error responses"). Every failure the store answers is a
 * SluiceError whose `code` is one of these, rendered as XML by renderError.
 */
const CATALOGUE = {
  AccessDenied: [403, "Access Denied"],
  AuthorizationHeaderMalformed: [400, "The authorization header is malformed."],
  AuthorizationQueryParametersError: [400, "Error parsing the X-Amz-Credential parameter."],
  BadDigest: [400, "The Content-MD5 or checksum you specified did not match what we received."],
  BucketAlreadyExists: [409, "The requested bucket name is not available."],
  BucketAlreadyOwnedByYou: [
    409,
    "Your previous request to create the named bucket succeeded and you already own it.",
  ],
  BucketNotEmpty: [409, "The bucket you tried to delete is not empty."],
  EntityTooLarge: [400, "Your proposed upload exceeds the maximum allowed object size."],
  EntityTooSmall: [400, "Your proposed upload is smaller than the minimum allowed object size."],
  IncompleteBody: [
    400,
    "You did not provide the number of bytes specified by the Content-Length HTTP header.",
  ],
  InternalError: [500, "We encountered an internal error. Please try again."],
  ServiceUnavailable: [503, "Service is unable to handle request."],
  InvalidAccessKeyId: [403, "The AWS access key Id you provided does not exist in our records."],
  InvalidArgument: [400, "Invalid Argument"],
  InvalidBucketName: [400, "The specified bucket is not valid."],
  InvalidDigest: [400, "The Content-MD5 or checksum you specified is not valid."],
  InvalidPart: [400, "One or more of the specified parts could not be found."],
  InvalidPartNumber: [416, "The requested partnumber is not satisfiable"],
  InvalidPartOrder: [400, "The list of parts was not in ascending order."],
  InvalidRange: [416, "The requested range is not satisfiable"],
  InvalidRequest: [400, "Invalid Request"],
  InvalidURI: [400, "Couldn't parse the specified URI."],
  KeyTooLongError: [400, "Your key is too long."],
  MalformedXML: [
    400,
    "The XML you provided was not well-formed or did not validate against our published schema.",
  ],
  MaxMessageLengthExceeded: [400, "Your request was too big."],
  MethodNotAllowed: [405, "The specified method is not allowed against this resource."],
  MissingContentLength: [411, "You must provide the Content-Length HTTP header."],
  NoSuchBucket: [404, "The specified bucket does not exist."],
  NoSuchKey: [404, "The specified key does not exist."],
  NoSuchUpload: [404, "The specified upload does not exist."],
  OperationAborted: [
    409,
    "A conflicting conditional operation is currently in progress against this resource. Try again.",
  ],
  NotImplemented: [501, "A header or operation you provided implies functionality that is not implemented."],
  PreconditionFailed: [412, "At least one of the preconditions you specified did not hold."],
  RequestHeaderSectionTooLarge: [400, "Your request header section exceeds the maximum allowed size."],
  RequestTimeout: [
    400,
    "Your socket connection to the server was not read from or written to within the timeout period.",
  ],
  RequestTimeTooSkewed: [403, "The difference between the request time and the server's time is too large."],
  SignatureDoesNotMatch: [
    403,
    "The request signature we calculated does not match the signature you provided.",
  ],
  XAmzContentSHA256Mismatch: [
    400,
    "The provided 'x-amz-content-sha256' header does not match what was computed.",
  ],
} as const satisfies Record<string, readonly [number, string]>;

export type S3ErrorCode = keyof typeof CATALOGUE;

/** A SluiceError carrying S3's code and status; `message` overrides the default text. */
export function s3Error(code: S3ErrorCode, message?: string, headers?: Record<string, string>): SluiceError {
  const [status, text] = CATALOGUE[code];
  return new SluiceError({ code, status, message: message ?? text, ...(headers ? { headers } : {}) });
}

/** The disk (or the catalog's SQLite file) ran out of space: ENOSPC, EDQUOT, SQLITE_FULL. */
export function isDiskFull(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return code === "ENOSPC" || code === "EDQUOT" || code === "SQLITE_FULL";
}

/**
 * A full disk is answered 503 ServiceUnavailable, which every S3 client
 * retries with backoff (507 is not retried by the AWS SDKs, boto3 or rclone):
 * space comes back as uploads expire and files are deleted.
 */
export const diskFull = () => s3Error("ServiceUnavailable", "The store is out of disk space; retry later.");

export function newRequestId(): string {
  return randomBytes(8).toString("hex").toUpperCase();
}

/**
 * The one place errors become S3 XML. Anything that is not a SluiceError is a
 * bug on our side: it is answered as a 500 InternalError without details.
 */
export function renderError(
  error: unknown,
  resource: string,
  requestId: string,
): { status: number; headers: Record<string, string>; body: string } {
  const known =
    error instanceof SluiceError ? error : isDiskFull(error) ? diskFull() : s3Error("InternalError");
  const body =
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${escapeXml(known.code)}</Code><Message>${escapeXml(known.message)}</Message>` +
    `<Resource>${escapeXml(resource)}</Resource><RequestId>${requestId}</RequestId></Error>`;
  return { status: known.status, headers: { ...known.headers, "content-type": "application/xml" }, body };
}
