/**
 * Request bodies the SDK sends to storage. A body may be sent more than once
 * (retries), so streams are factories, never one-shot iterables.
 */
export interface StreamBody {
  readonly length: number;
  open(): AsyncIterable<Uint8Array>;
}

export type Body = Uint8Array | Blob | StreamBody;

export function isStreamBody(body: Body): body is StreamBody {
  return typeof (body as StreamBody).open === "function";
}

export function bodyLength(body: Body): number {
  if (body instanceof Uint8Array) return body.byteLength;
  if (isStreamBody(body)) return body.length;
  return body.size;
}

/** Concatenates bodies (a POST form around the file) without copying the file. */
export function concatBodies(parts: Body[]): Body {
  if (!parts.some(isStreamBody) && typeof Blob !== "undefined") {
    return new Blob(parts as (Uint8Array | Blob)[] as BlobPart[]);
  }
  return {
    length: parts.reduce((sum, part) => sum + bodyLength(part), 0),
    async *open() {
      for (const part of parts) {
        if (part instanceof Uint8Array) yield part;
        else if (isStreamBody(part)) yield* part.open();
        else yield new Uint8Array(await part.arrayBuffer());
      }
    },
  };
}
