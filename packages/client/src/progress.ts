/**
 * Upload/download progress: bytes done, total, speed over a sliding window
 * and the ETA derived from it.
 */
export interface Progress {
  bytesSent: number;
  total: number;
  /** Bytes per second over the last few seconds. */
  speed: number;
  /** Seconds left at the current speed; undefined until there is a speed. */
  eta: number | undefined;
}

export class ProgressMeter {
  readonly total: number;
  private done = 0;
  private readonly samples: Array<{ at: number; bytes: number }> = [];
  /** Called after every change (the upload task throttles it into onProgress). */
  onChange: (() => void) | undefined;

  constructor(
    total: number,
    private readonly options: { windowMs?: number; now?: () => number } = {},
  ) {
    this.total = total;
    this.samples.push({ at: this.now(), bytes: 0 });
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** `delta` may be negative: bytes of a failed attempt are taken back. */
  add(delta: number): void {
    this.done = Math.max(0, Math.min(this.total, this.done + delta));
    const at = this.now();
    this.samples.push({ at, bytes: this.done });
    const windowMs = this.options.windowMs ?? 5000;
    while (this.samples.length > 2 && this.samples[1]!.at < at - windowMs) this.samples.shift();
    this.onChange?.();
  }

  /**
   * Bytes done before this run (resumed parts, a partial download on disk):
   * counted as done, never as speed.
   */
  skip(bytes: number): void {
    const before = this.done;
    this.done = Math.max(0, Math.min(this.total, this.done + bytes));
    for (const sample of this.samples) sample.bytes += this.done - before;
    this.onChange?.();
  }

  get bytes(): number {
    return this.done;
  }

  snapshot(): Progress {
    const first = this.samples[0]!;
    const last = this.samples[this.samples.length - 1]!;
    const elapsed = (last.at - first.at) / 1000;
    const speed = elapsed > 0 ? Math.max(0, (last.bytes - first.bytes) / elapsed) : 0;
    const remaining = this.total - this.done;
    return {
      bytesSent: this.done,
      total: this.total,
      speed,
      eta: remaining === 0 ? 0 : speed > 0 ? remaining / speed : undefined,
    };
  }
}
