// Checks a grant request against its upload profile and picks the method.
import { errors } from "@sluice/core";
import type { Profile } from "../config/schema.ts";
import { formatSize } from "../config/units.ts";
import type { UploadMethod } from "../db/schema.ts";

/** Single PUT/POST objects are limited to 5 GiB by S3. */
export const MAX_SINGLE_UPLOAD = 5 * 1024 ** 3;
/** S3's largest object. */
export const MAX_OBJECT_SIZE = 5 * 1024 ** 4;

const MEDIA_TYPE = /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/;

/** The bare media type (parameters dropped, lowercase), or undefined if malformed. */
export function parseMediaType(value: string): string | undefined {
  const type = value.split(";")[0]!.trim().toLowerCase();
  return MEDIA_TYPE.test(type) ? type : undefined;
}

export function typeAllowed(type: string, patterns: string[]): boolean {
  const [major] = type.split("/");
  return patterns.some((p) => p === "*/*" || p === type || (p.endsWith("/*") && p.slice(0, -2) === major));
}

export function checkAgainstProfile(profile: Profile, request: { size: number; type: string }): void {
  if (request.size > profile.maxSize) {
    throw errors.tooLarge(
      `File is ${formatSize(request.size)}, larger than this profile allows (${formatSize(profile.maxSize)})`,
      "FileTooLarge",
    );
  }
  if (request.size < profile.minSize) {
    throw errors.badRequest(
      `File is ${formatSize(request.size)}, smaller than this profile allows (${formatSize(profile.minSize)})`,
      "FileTooSmall",
    );
  }
  if (!typeAllowed(request.type, profile.types)) {
    throw errors.unsupportedType(`Type ${request.type} is not allowed by this profile`, "TypeNotAllowed");
  }
}

export function chooseMethod(profile: Profile, size: number): UploadMethod {
  const method =
    profile.method === "auto" ? (size >= profile.multipartThreshold ? "multipart" : "put") : profile.method;
  if (method !== "multipart" && size > MAX_SINGLE_UPLOAD) {
    throw errors.tooLarge(`A single ${method.toUpperCase()} upload is limited to 5 GiB`, "FileTooLarge");
  }
  if (size > MAX_OBJECT_SIZE) throw errors.tooLarge("Objects are limited to 5 TiB", "FileTooLarge");
  return method;
}
