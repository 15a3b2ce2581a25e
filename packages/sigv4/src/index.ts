export {
  ALGORITHM,
  type CanonicalRequestParts,
  canonicalHeaderValue,
  canonicalPath,
  canonicalQuery,
  canonicalRequest,
  credentialScope,
  stringToSign,
  UNSIGNED_PAYLOAD,
} from "./canonical.ts";
export { AwsChunkedDecoder, type AwsChunkedOptions } from "./chunked.ts";
export { AwsChunkedEncoder, type AwsChunkedEncoderOptions } from "./chunked-encode.ts";
export { amzDate, hmacSha256, sha256Hex, uriEncode } from "./encoding.ts";
export { PayloadHashCheck } from "./payload-hash.ts";
export {
  createPresignedPost,
  FILENAME_VARIABLE,
  type PolicyCondition,
  type PolicyDocument,
  type PresignedPost,
  type PresignedPostOptions,
} from "./post-policy.ts";
export {
  type CheckedPostPolicy,
  checkPostPolicy,
  expandFormFields,
  type PostPolicyCheckOptions,
} from "./post-policy-check.ts";
export { type Credentials, MAX_PRESIGN_EXPIRY_SECONDS, type PresignOptions, presignUrl } from "./presign.ts";
export { type SignHeadersOptions, signHeaders } from "./sign-headers.ts";
export { deriveSigningKey } from "./signing-key.ts";
export {
  type StringToSignV2Parts,
  signV2,
  sigV2Kind,
  stringToSignV2,
  type VerifyV2Options,
  verifyRequestV2,
} from "./sigv2.ts";
export { objectUrl, type SplitUrl, splitUrl } from "./url.ts";
export {
  type IncomingSignedRequest,
  MAX_CLOCK_SKEW_MS,
  type PayloadBinding,
  type SigningContext,
  sameSignature,
  sigV4Kind,
  type VerifiedRequest,
  type VerifyOptions,
  verifyRequest,
} from "./verify.ts";
