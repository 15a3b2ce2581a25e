/**
 * Part buffers reused across parts, so an upload holds about partSize ×
 * concurrency bytes however large the file: allocating a fresh buffer per
 * part leaves garbage the GC collects late, and RSS climbs far above that.
 */
export class BufferPool {
  private readonly free: Uint8Array[] = [];

  /** A buffer of exactly `size` bytes (a view on a pooled one when possible). */
  acquire(size: number): Uint8Array {
    const index = this.free.findIndex((buffer) => buffer.buffer.byteLength >= size);
    if (index >= 0) {
      const [buffer] = this.free.splice(index, 1);
      return new Uint8Array(buffer!.buffer, 0, size);
    }
    return new Uint8Array(size);
  }

  release(buffer: Uint8Array): void {
    this.free.push(new Uint8Array(buffer.buffer));
  }
}
