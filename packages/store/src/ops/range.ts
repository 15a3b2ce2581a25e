import { s3Error } from "../errors.ts";

/**
 * A single `bytes=` range resolved against the size, as S3 does: a syntax it
 * does not understand (or several ranges) means the whole object; a range
 * starting past the end is 416 InvalidRange.
 */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | undefined {
  if (header === undefined) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === "" && match[2] === "")) return undefined;
  const [, first = "", last = ""] = match;
  if (first === "") {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) throw rangeError(size);
    return { start: Math.max(size - suffix, 0), end: size - 1 };
  }
  const start = Number(first);
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== "" && Number(last) < start) return undefined;
  if (start >= size) throw rangeError(size);
  return { start, end };
}

function rangeError(size: number) {
  return s3Error("InvalidRange", undefined, { "content-range": `bytes */${size}` });
}
