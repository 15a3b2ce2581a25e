/** Byte ranges of multipart parts (numbered from 1, as S3 does). */
export interface PartRange {
  partNumber: number;
  start: number;
  /** Exclusive. */
  end: number;
}

export const MAX_PARTS = 10_000;

export function planParts(size: number, partSize: number): PartRange[] {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`invalid size ${size}`);
  if (!Number.isSafeInteger(partSize) || partSize <= 0) throw new RangeError(`invalid part size ${partSize}`);
  const count = Math.max(1, Math.ceil(size / partSize));
  if (count > MAX_PARTS) throw new RangeError(`${count} parts exceed the S3 limit of ${MAX_PARTS}`);
  return Array.from({ length: count }, (_, i) => ({
    partNumber: i + 1,
    start: i * partSize,
    end: Math.min(size, (i + 1) * partSize),
  }));
}

/** Bytes in the given parts of a file of `size` cut into `partSize` parts. */
export function partsBytes(
  partNumbers: Iterable<number>,
  options: { size: number; partSize: number },
): number {
  const { size, partSize } = options;
  let bytes = 0;
  for (const n of partNumbers) bytes += Math.max(0, Math.min(partSize, size - (n - 1) * partSize));
  return bytes;
}
