/** Node inputs: a file path (re-readable, resumable) or a Readable (read once, in order). */
import { createReadStream } from "node:fs";
import { open, stat } from "node:fs/promises";
import { basename, resolve } from "node:path";
import type { Readable } from "node:stream";
import { SluiceError } from "@sluice/core";
import { blobSource, bytesSource, isBlob } from "../blob-source.ts";
import type { StreamBody } from "../body.ts";
import { contentTypeFor } from "../mime.ts";
import type { UploadSource } from "../source.ts";
import type { UploadOptions } from "../upload/task.ts";

export async function nodeSource(input: unknown, options: UploadOptions): Promise<UploadSource> {
  if (typeof input === "string" || input instanceof URL) return fileSource(input, options);
  if (isBlob(input)) return blobSource(input, options);
  if (input instanceof Uint8Array) return bytesSource(input, options);
  if (isReadable(input)) return readableSource(input, options);
  throw new SluiceError({
    code: "InvalidInput",
    status: 400,
    message: "upload() takes a file path, a Readable, a Blob or a Uint8Array",
  });
}

async function fileSource(input: string | URL, options: UploadOptions): Promise<UploadSource> {
  const path = input instanceof URL ? input.pathname : resolve(input);
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
    throw new SluiceError({
      code: "FileNotFound",
      status: 400,
      message: `Cannot read ${path} (${error.code ?? "error"}): check the path and permissions`,
    });
  });
  if (!info.isFile()) {
    throw new SluiceError({ code: "NotAFile", status: 400, message: `${path} is not a regular file` });
  }
  const name = options.name ?? basename(path);
  const size = info.size;
  return {
    name,
    size,
    type: options.type || contentTypeFor(name),
    identity: { path, lastModified: Math.floor(info.mtimeMs) },
    async readPart(start, end, into) {
      const handle = await open(path, "r");
      try {
        const buffer = into ?? Buffer.allocUnsafe(end - start);
        let filled = 0;
        while (filled < buffer.byteLength) {
          const { bytesRead } = await handle.read(buffer, filled, buffer.byteLength - filled, start + filled);
          if (bytesRead === 0) throw changedWhileReading(path);
          filled += bytesRead;
        }
        return buffer;
      } finally {
        await handle.close();
      }
    },
    whole: async (): Promise<StreamBody> => ({
      length: size,
      open: () => createReadStream(path, { highWaterMark: 1024 * 1024 }),
    }),
    chunks: () => createReadStream(path, { highWaterMark: 1024 * 1024 }),
  };
}

function changedWhileReading(path: string): SluiceError {
  return new SluiceError({
    code: "FileChanged",
    status: 400,
    message: `${path} got shorter while it was being uploaded; upload it again once it stops changing`,
  });
}

function isReadable(input: unknown): input is Readable {
  return (
    typeof input === "object" &&
    input !== null &&
    typeof (input as Readable).pipe === "function" &&
    Symbol.asyncIterator in input
  );
}

/**
 * A stream is read strictly in order, each part exactly once (the multipart
 * workers claim parts in order, so reads are chained). Not resumable.
 */
function readableSource(stream: Readable, options: UploadOptions): UploadSource {
  const size = options.size;
  if (size === undefined || !Number.isSafeInteger(size) || size < 0) {
    throw new SluiceError({
      code: "SizeRequired",
      status: 400,
      message: "Uploading a stream needs its exact size: pass { size } (the broker grants a fixed size)",
    });
  }
  const name = options.name ?? "stream";
  const reader = exactReader(stream);
  let position = 0;
  let chain: Promise<unknown> = Promise.resolve();
  const read = (start: number, end: number, into?: Uint8Array): Promise<Uint8Array> => {
    const next = chain.then(async () => {
      if (start !== position) {
        throw new SluiceError({
          code: "InternalError",
          status: 500,
          message: "Stream parts read out of order",
        });
      }
      const bytes = await reader(end - start, into);
      position = end;
      return bytes;
    });
    chain = next.catch(() => {});
    return next;
  };
  return {
    name,
    size,
    type: options.type || contentTypeFor(name),
    readPart: read,
    // A stream cannot be read twice: buffer it so the PUT can be retried (PUT is for small files).
    whole: () => read(0, size),
  };
}

function exactReader(stream: Readable): (n: number, into?: Uint8Array) => Promise<Uint8Array> {
  const iterator = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  let pending: Buffer = Buffer.alloc(0);
  return async (n, into) => {
    const out = into ? Buffer.from(into.buffer, into.byteOffset, n) : Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      if (pending.length === 0) {
        const { done, value } = await iterator.next();
        if (done) {
          throw new SluiceError({
            code: "StreamTooShort",
            status: 400,
            message: `The stream ended after ${filled} of ${n} expected bytes; check the size you passed`,
          });
        }
        pending = typeof value === "string" ? Buffer.from(value) : value;
      }
      const take = Math.min(n - filled, pending.length);
      pending.copy(out, filled, 0, take);
      pending = pending.subarray(take);
      filled += take;
    }
    return out;
  };
}
