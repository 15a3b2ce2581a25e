/** Upload profiles as the broker lists them (GET /v1/profiles), and which of them take a file. */
import { contentTypeFor } from "./mime.ts";

export interface ProfileInfo {
  name: string;
  minSize: number;
  maxSize: number;
  /** Media types, wildcards allowed: image/png, image/*, *\/*. */
  types: string[];
  method: string;
}

/** The profiles whose type list and size range accept a file of this name (or type) and size. */
export function profilesAccepting(
  profiles: readonly ProfileInfo[],
  file: { name: string; size: number; type?: string },
): ProfileInfo[] {
  const type = (file.type || contentTypeFor(file.name)).toLowerCase();
  const [major] = type.split("/");
  return profiles.filter(
    (profile) =>
      file.size >= profile.minSize &&
      file.size <= profile.maxSize &&
      profile.types.some((pattern) => pattern === "*/*" || pattern === type || pattern === `${major}/*`),
  );
}
