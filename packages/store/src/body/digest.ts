import { createHash, type Hash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import { Worker } from "node:worker_threads";
import type { S3Request } from "../context.ts";
import { s3Error } from "../errors.ts";
import type { Checksums } from "../storage/catalog.ts";
import {
  assertChecksumShape,
  CHECKSUM_ALGORITHMS,
  type ChecksumAlgorithm,
  type Checksummer,
  checksumFromHeaderName,
  createChecksummer,
  parseChecksumAlgorithm,
} from "./checksums.ts";

/** What the request says its body should hash to. */
export interface DeclaredDigests {
  /** Content-MD5 as sent (base64). */
  md5?: string;
  /** x-amz-checksum-* header values, checked at the end. */
  checksums: Checksums;
  /** Algorithms whose value arrives in the aws-chunked trailer. */
  trailer: ChecksumAlgorithm[];
  /** Every algorithm to compute and store (declared, trailed, or requested by x-amz-sdk-checksum-algorithm). */
  compute: ChecksumAlgorithm[];
}

/** Reads Content-MD5, x-amz-checksum-*, x-amz-trailer and x-amz-sdk-checksum-algorithm. Malformed values are rejected before any byte is read. */
export function declaredDigests(request: S3Request, extra?: ChecksumAlgorithm): DeclaredDigests {
  const md5 = request.header("content-md5");
  if (md5 !== undefined && Buffer.from(md5, "base64").length !== 16) throw s3Error("InvalidDigest");
  const checksums: Checksums = {};
  for (const name of Object.keys(request.raw.headers)) {
    const algorithm = checksumFromHeaderName(name);
    if (!algorithm) continue;
    const value = request.header(name) ?? "";
    assertChecksumShape(algorithm, value);
    checksums[algorithm] = value;
  }
  const trailer = (request.header("x-amz-trailer") ?? "")
    .split(",")
    .map((name) => name.trim())
    .filter(Boolean)
    .map((name) => {
      const algorithm = checksumFromHeaderName(name);
      if (!algorithm) throw s3Error("InvalidRequest", `Unsupported trailer ${name}.`);
      return algorithm;
    });
  const sdkAlgorithm = request.header("x-amz-sdk-checksum-algorithm");
  const compute = new Set<ChecksumAlgorithm>([
    ...(Object.keys(checksums) as ChecksumAlgorithm[]),
    ...trailer,
  ]);
  if (sdkAlgorithm) compute.add(parseChecksumAlgorithm(sdkAlgorithm));
  if (extra) compute.add(extra);
  if (Object.keys(checksums).length + trailer.length > 1) {
    throw s3Error(
      "InvalidRequest",
      "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
    );
  }
  return {
    ...(md5 === undefined ? {} : { md5 }),
    checksums,
    trailer,
    compute: CHECKSUM_ALGORITHMS.filter((a) => compute.has(a)),
  };
}

/**
 * Counts and hashes a body as it passes: the requested checksums, and MD5 for
 * the ETag unless `md5: false` (uploads hash MD5 off the event loop: Md5Worker).
 */
export class DigestTap extends Transform {
  readonly #md5: Hash | undefined;
  readonly #checksums: Array<[ChecksumAlgorithm, Checksummer]>;
  readonly #limit: number;
  size = 0;

  constructor(options: { compute: readonly ChecksumAlgorithm[]; limit: number; md5?: boolean }) {
    super();
    this.#md5 = options.md5 === false ? undefined : createHash("md5");
    this.#checksums = options.compute.map((algorithm) => [algorithm, createChecksummer(algorithm)]);
    this.#limit = options.limit;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.size += chunk.length;
    if (this.size > this.#limit) {
      callback(s3Error("EntityTooLarge"));
      return;
    }
    this.#md5?.update(chunk);
    for (const [, checksummer] of this.#checksums) checksummer.update(chunk);
    callback(null, chunk);
  }

  /** Call once, after the stream ended. */
  checksums(): Checksums {
    const checksums: Checksums = {};
    for (const [algorithm, checksummer] of this.#checksums) checksums[algorithm] = checksummer.digest();
    return checksums;
  }

  /** Call once, after the stream ended; only with MD5 on. */
  result(): { md5: Buffer; checksums: Checksums } {
    if (!this.#md5) throw new Error("DigestTap: MD5 is off");
    return { md5: this.#md5.digest(), checksums: this.checksums() };
  }
}

// One MD5 a job, in a worker thread: the hash runs beside the event loop (and
// the socket and file writes it paces) instead of on it. Every ETag of a PUT or
// part is the MD5 of its bytes, as on S3: rclone, s3cmd and the AWS SDK for
// Java compare it with their own MD5 after a single-part upload, and a
// multipart ETag is built from the parts' MD5s, so it is always computed.
const MD5_WORKER = `
const { parentPort } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const jobs = new Map();
parentPort.on("message", (m) => {
  if (m.chunk) {
    let hash = jobs.get(m.id);
    if (!hash) jobs.set(m.id, (hash = createHash("md5")));
    hash.update(m.chunk);
    parentPort.postMessage({ id: m.id, hashed: m.chunk.byteLength });
  } else if (m.end) {
    const hash = jobs.get(m.id) ?? createHash("md5");
    jobs.delete(m.id);
    parentPort.postMessage({ id: m.id, md5: hash.digest() });
  } else jobs.delete(m.id);
});
`;

type WorkerReply = { id: number; hashed?: number; md5?: Uint8Array; failed?: true };

let md5Thread: { worker: Worker; jobs: Map<number, (reply: WorkerReply) => void>; next: number } | undefined;

function md5Worker() {
  if (md5Thread) return md5Thread;
  const worker = new Worker(MD5_WORKER, { eval: true });
  const thread = { worker, jobs: new Map<number, (reply: WorkerReply) => void>(), next: 1 };
  worker.on("message", (reply: WorkerReply) => thread.jobs.get(reply.id)?.(reply));
  const fail = () => {
    if (md5Thread === thread) md5Thread = undefined;
    for (const [id, reply] of thread.jobs) reply({ id, failed: true });
    thread.jobs.clear();
  };
  worker.on("error", fail);
  worker.on("exit", fail);
  // Never what keeps a process alive (listeners attached first: they would ref it again).
  worker.unref();
  md5Thread = thread;
  return thread;
}

/** How many bytes may wait for the worker before `update` waits (keeps memory flat when MD5 is slower than the disk). */
const MD5_IN_FLIGHT = 8 * 1024 * 1024;

/** The MD5 of one body, hashed in a worker thread; blocks handed over are transferred, not copied. */
export class Md5Worker {
  readonly #thread = md5Worker();
  readonly #id = this.#thread.next++;
  #inFlight = 0;
  #drained: (() => void) | undefined;
  #digest: { resolve: (md5: Buffer) => void; reject: (error: Error) => void } | undefined;
  #failed = false;

  constructor() {
    this.#thread.jobs.set(this.#id, (reply) => {
      if (reply.failed) {
        this.#failed = true;
        this.#drained?.();
        this.#digest?.reject(new Error("the MD5 worker stopped"));
      } else if (reply.hashed !== undefined) {
        this.#inFlight -= reply.hashed;
        if (this.#inFlight <= MD5_IN_FLIGHT) this.#drained?.();
      } else if (reply.md5) {
        this.#thread.jobs.delete(this.#id);
        this.#digest?.resolve(Buffer.from(reply.md5));
      }
    });
  }

  /** Hands `block` (which must own its whole ArrayBuffer) to the worker; the caller must not touch it again. */
  async update(block: Uint8Array): Promise<void> {
    if (this.#failed) throw new Error("the MD5 worker stopped");
    this.#inFlight += block.byteLength;
    this.#thread.worker.postMessage({ id: this.#id, chunk: block }, [block.buffer as ArrayBuffer]);
    if (this.#inFlight > MD5_IN_FLIGHT) {
      await new Promise<void>((resolve) => {
        this.#drained = resolve;
      });
      this.#drained = undefined;
    }
  }

  digest(): Promise<Buffer> {
    if (this.#failed) return Promise.reject(new Error("the MD5 worker stopped"));
    return new Promise((resolve, reject) => {
      this.#digest = { resolve, reject };
      this.#thread.worker.postMessage({ id: this.#id, end: true });
    });
  }

  /** Drops the job (the body failed). */
  discard(): void {
    this.#thread.jobs.delete(this.#id);
    this.#thread.worker.postMessage({ id: this.#id, discard: true });
  }
}

/**
 * Compares what arrived with what was declared: Content-MD5 and checksum
 * mismatches are 400 BadDigest; a checksum trailer is compared like a header.
 */
export function verifyDigests(options: {
  declared: DeclaredDigests;
  computed: { md5: Buffer; checksums: Checksums };
  trailers: ReadonlyMap<string, string>;
}): void {
  const { declared, computed } = options;
  if (declared.md5 !== undefined && declared.md5 !== computed.md5.toString("base64"))
    throw s3Error("BadDigest");
  const expected: Checksums = { ...declared.checksums };
  for (const algorithm of declared.trailer) {
    const value = options.trailers.get(`x-amz-checksum-${algorithm}`);
    if (value === undefined) throw s3Error("InvalidRequest", `Missing trailer x-amz-checksum-${algorithm}.`);
    assertChecksumShape(algorithm, value);
    expected[algorithm] = value;
  }
  for (const [algorithm, value] of Object.entries(expected) as Array<[ChecksumAlgorithm, string]>) {
    if (computed.checksums[algorithm] !== value) {
      throw s3Error(
        "BadDigest",
        `The ${algorithm.toUpperCase()} you specified did not match the calculated checksum.`,
      );
    }
  }
}
