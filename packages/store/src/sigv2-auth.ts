import { SluiceError } from "@sluice/core";
import { sigV2Kind, verifyRequestV2 } from "@sluice/sigv4";
import type { StoreExtension } from "./context.ts";

/**
 * Legacy Signature Version 2 (header and presigned query), accepted only when
 * StoreOptions.allowSignatureV2 is set; otherwise such a request is refused
 * with 403, never treated as anonymous.
 */
export function sigV2Extension(): StoreExtension {
  return {
    authenticate(target, store) {
      const signed = {
        method: target.method,
        rawPath: target.rawPath,
        query: [...target.query],
        header: target.header,
      };
      if (!sigV2Kind(signed)) return undefined;
      if (!store.options.allowSignatureV2)
        throw new SluiceError({
          code: "AccessDenied",
          status: 403,
          message: "Signature version 2 is disabled on this store.",
        });
      // The V2 resource always names the bucket, also when the Host carried it (virtual-hosted style).
      const hostname = (target.header("host") ?? "").replace(/:\d+$/, "").toLowerCase();
      const virtual = store.options.virtualHostSuffixes.some((suffix) => hostname.endsWith(`.${suffix}`));
      const resourcePath = virtual ? `/${target.bucket}${target.rawPath}` : target.rawPath;
      // Node joins a repeated header with ", "; V2 signs the trimmed values joined by "," alone.
      const distinct = target.raw.headersDistinct;
      const header = (name: string) =>
        name.startsWith("x-amz-")
          ? distinct[name]?.map((value) => value.trim()).join(",")
          : target.header(name);
      const { accessKeyId } = verifyRequestV2({
        request: { ...signed, header, headerNames: Object.keys(target.raw.headers) },
        resourcePath,
        secretFor: (id) => store.options.secrets.get(id),
      });
      return { kind: "other", scheme: "sigv2", accessKeyId };
    },
  };
}
