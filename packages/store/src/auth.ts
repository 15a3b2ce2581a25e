import type { Readable } from "node:stream";
import { pipeline } from "node:stream";
import { AwsChunkedDecoder, PayloadHashCheck, sigV4Kind, verifyRequest } from "@sluice/sigv4";
import type { AuthResult, RequestTarget, S3Request, StoreContext } from "./context.ts";
import { s3Error } from "./errors.ts";

type Authenticated = Pick<S3Request, "auth" | "body" | "contentLength" | "trailers">;

function declaredLength(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,16}$/.test(value)) throw s3Error("InvalidArgument", "Invalid content length.");
  return Number(value);
}

/** Chains verifying stages after the raw body; an error anywhere reaches the last stage. */
function chain(source: Readable, stage: Readable & NodeJS.WritableStream): Readable {
  return pipeline(source, stage, () => {}) as Readable;
}

/**
 * Who sent the request, and its body as a verified stream. SigV4 (header or
 * presigned query) is checked here in full; the body binding (signed hash,
 * chunk signatures) is checked as the body streams. Requests without SigV4
 * go to the extensions' schemes, else they are anonymous.
 */
export function authenticate(target: RequestTarget, store: StoreContext): Authenticated {
  const contentLength = declaredLength(target.header("content-length"));
  const signed = {
    method: target.method,
    rawPath: target.rawPath,
    query: [...target.query],
    header: target.header,
    headerNames: Object.keys(target.raw.headers),
  };
  if (!sigV4Kind(signed)) {
    let auth: AuthResult = { kind: "anonymous" };
    for (const extension of store.options.extensions) {
      const result = extension.authenticate?.(target, store);
      if (result) {
        auth = result;
        break;
      }
    }
    if (auth.kind === "anonymous" && target.header("authorization") !== undefined)
      throw s3Error("InvalidArgument", "Unsupported Authorization Type");
    return { auth, body: target.raw, contentLength, trailers: new Map() };
  }
  const verified = verifyRequest({
    request: signed,
    secretFor: (accessKeyId) => store.options.secrets.get(accessKeyId),
    region: store.options.region,
  });
  const auth: AuthResult = { kind: "sigv4", accessKeyId: verified.accessKeyId, via: verified.via };
  const { payload } = verified;
  if (payload.kind === "unsigned") return { auth, body: target.raw, contentLength, trailers: new Map() };
  if (payload.kind === "sha256")
    return {
      auth,
      body: chain(target.raw, new PayloadHashCheck(payload.hex)),
      contentLength,
      trailers: new Map(),
    };

  const decodedLength = declaredLength(target.header("x-amz-decoded-content-length"));
  if (decodedLength === undefined) throw s3Error("MissingContentLength");
  const declaredTrailers = (target.header("x-amz-trailer") ?? "")
    .split(",")
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean);
  if (payload.trailer && declaredTrailers.length === 0)
    throw s3Error("InvalidRequest", "x-amz-trailer is required with a trailer payload.");
  const decoder = new AwsChunkedDecoder({
    ...(payload.signedChunks ? { signing: verified.signing } : {}),
    trailer: payload.trailer,
    declaredTrailers,
    decodedLength,
  });
  return { auth, body: chain(target.raw, decoder), contentLength: decodedLength, trailers: decoder.trailers };
}
