/** What the upload pipeline reads from: a File/Blob in browsers, a path or Readable in Node. */
import type { Body } from "./body.ts";

export interface UploadSource {
  name: string;
  size: number;
  type: string;
  /** Identity for resume (path or name + lastModified); absent when the input can be read only once. */
  identity?: { path?: string; lastModified?: number };
  /**
   * Bytes [start, end) of one part: read once, then sent as often as retries
   * need. Sources that must copy bytes fill `into` (end - start bytes) and
   * return it; lazy ones (Blob slices) ignore it.
   */
  readPart(start: number, end: number, into?: Uint8Array): Promise<Body>;
  /** The whole content as one body (single PUT or POST form); may stream. */
  whole(): Promise<Body>;
  /** Streams the content (for hashing before the grant); only for re-readable sources. */
  chunks?(): AsyncIterable<Uint8Array>;
}

export interface Sha256 {
  update(bytes: Uint8Array): void;
  digest(): Promise<Uint8Array>;
}

export function toHex(bytes: Uint8Array): string {
  let hex = "";
  for (const byte of bytes) hex += byte.toString(16).padStart(2, "0");
  return hex;
}
