/**
 * Default entry of @sluice/client: browsers and React Native. No Node-only
 * API here (Node gets node.ts through the "node" export condition): File and
 * Blob inputs, XHR transport with upload progress, resume in IndexedDB
 * (localStorage where it cannot be opened). React Native has neither: pass
 * `resumeStore: new KeyValueResumeStore(AsyncStorage)`.
 */
import { Sha256 } from "@aws-crypto/sha256-js";
import { SluiceError } from "@sluice/core";
import { blobSource, bytesSource, isBlob } from "./blob-source.ts";
import { createFetchTransport } from "./browser/fetch-transport.ts";
import { IndexedDbResumeStore } from "./browser/indexed-db-store.ts";
import { createXhrTransport } from "./browser/xhr-transport.ts";
import { type ClientOptions, createClientWith, type SluiceClient } from "./client.ts";
import { KeyValueResumeStore } from "./key-value-store.ts";
import { MemoryResumeStore, type ResumeStore } from "./resume-state.ts";

export { createFetchTransport } from "./browser/fetch-transport.ts";
export { IndexedDbResumeStore, type IndexedDbResumeStoreOptions } from "./browser/indexed-db-store.ts";
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

/** IndexedDB, else localStorage, else memory (React Native, workers without storage). */
function defaultResumeStore(ttlMs: number | undefined): ResumeStore {
  const fallback = localStorageStore(ttlMs) ?? new MemoryResumeStore();
  if (typeof indexedDB === "undefined") return fallback;
  return new IndexedDbResumeStore({ indexedDB, ttlMs, fallback });
}

function localStorageStore(ttlMs: number | undefined): ResumeStore | undefined {
  try {
    if (typeof localStorage !== "undefined") return new KeyValueResumeStore(localStorage, ttlMs);
  } catch {
    // localStorage access throws in some privacy modes
  }
  return undefined;
}
