/**
 * Default entry of @sluice/client: browsers and React Native. No Node-only
 * API here (Node gets node.ts through the "node" export condition): File and
 * Blob inputs, XHR transport with upload progress, resume in localStorage.
 */
import { Sha256 } from "@aws-crypto/sha256-js";
import { SluiceError } from "@sluice/core";
import { blobSource, bytesSource, isBlob } from "./blob-source.ts";
import { createFetchTransport } from "./browser/fetch-transport.ts";
import { LocalStorageResumeStore } from "./browser/local-storage-store.ts";
import { createXhrTransport } from "./browser/xhr-transport.ts";
import { type ClientOptions, createClientWith, type SluiceClient } from "./client.ts";
import { MemoryResumeStore, type ResumeStore } from "./resume-state.ts";

export { createFetchTransport } from "./browser/fetch-transport.ts";
export { LocalStorageResumeStore } from "./browser/local-storage-store.ts";
export { createXhrTransport } from "./browser/xhr-transport.ts";
export * from "./shared-exports.ts";

export function createClient(options: ClientOptions): SluiceClient {
  return createClientWith(
    {
      transport:
        typeof XMLHttpRequest !== "undefined" ? createXhrTransport() : createFetchTransport(options.fetch),
      defaultConcurrency: 6,
      resumeStore: defaultResumeStore(options.resumeTtlMs),
      async toSource(input, uploadOptions) {
        if (isBlob(input)) return blobSource(input, uploadOptions);
        if (input instanceof Uint8Array) return bytesSource(input, uploadOptions);
        throw new SluiceError({
          code: "InvalidInput",
          status: 400,
          message: "upload() takes a File, a Blob or a Uint8Array",
        });
      },
      sha256: () => {
        const hash = new Sha256();
        return { update: (bytes) => hash.update(bytes), digest: () => hash.digest() };
      },
    },
    options,
  );
}

function defaultResumeStore(ttlMs: number | undefined): ResumeStore {
  try {
    if (typeof localStorage !== "undefined") return new LocalStorageResumeStore(localStorage, ttlMs);
  } catch {
    // localStorage access throws in some privacy modes
  }
  return new MemoryResumeStore();
}
