/** Blob and File inputs (browsers, React Native, and Node's Blob): slices are lazy, nothing is copied. */
import { contentTypeFor } from "./mime.ts";
import type { UploadSource } from "./source.ts";

export function isBlob(input: unknown): input is Blob {
  return typeof Blob !== "undefined" && input instanceof Blob;
}

export function blobSource(blob: Blob, options: { name?: string; type?: string }): UploadSource {
  const file = blob as Partial<File>;
  const name = options.name ?? file.name ?? "blob";
  return {
    name,
    size: blob.size,
    type: options.type || blob.type || contentTypeFor(name),
    identity: file.lastModified === undefined ? undefined : { lastModified: file.lastModified },
    readPart: async (start, end) => blob.slice(start, end),
    whole: async () => blob,
    async *chunks() {
      const reader = blob.stream().getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        yield value;
      }
    },
  };
}

export function bytesSource(bytes: Uint8Array, options: { name?: string; type?: string }): UploadSource {
  const name = options.name ?? "data";
  return {
    name,
    size: bytes.byteLength,
    type: options.type || contentTypeFor(name),
    readPart: async (start, end) => bytes.subarray(start, end),
    whole: async () => bytes,
    async *chunks() {
      yield bytes;
    },
  };
}
