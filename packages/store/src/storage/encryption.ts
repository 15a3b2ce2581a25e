// Server-side encryption at rest (SSE-S3) for the embedded store.
//
// Each encrypted blob (a PUT body or one multipart part) has its own random
// 256-bit data key, kept only wrapped (AES-256-GCM) by a master key from the
// data directory. The blob is cut into 64 KiB chunks, each sealed with
// AES-256-GCM under the data key, the chunk index as nonce and as associated
// data: a Range read opens only the chunks it needs, and a chunk changed,
// swapped or moved on disk fails its tag instead of yielding wrong bytes.
// Written with node:crypto (AES-GCM is hardware-accelerated; no library adds
// chunked GCM with random access to a file).
import { type CipherGCM, createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { chmodSync, existsSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { Transform, type TransformCallback } from "node:stream";

export const CHUNK_SIZE = 64 * 1024;
const TAG_SIZE = 16;
const SEALED_CHUNK = CHUNK_SIZE + TAG_SIZE;
const KEY_FILE = "master-keys.json";

interface KeyFile {
  /** The key new data keys are wrapped with. */
  current: string;
  keys: Record<string, string>;
}

function nonce(index: number): Buffer {
  const iv = Buffer.alloc(12);
  iv.writeBigUInt64BE(BigInt(index), 4);
  return iv;
}

/**
 * The master keys of a data directory (`master-keys.json`, mode 0600, created
 * on first start). A rotation adds a key, re-wraps every data key with it and
 * drops the old one; a running store notices the file changed and reloads it.
 */
export class MasterKeys {
  readonly #path: string;
  #file: KeyFile;
  #mtimeMs = 0;
  #checkedAt = 0;

  constructor(dataDir: string) {
    this.#path = join(dataDir, KEY_FILE);
    if (!existsSync(this.#path)) {
      const id = randomBytes(4).toString("hex");
      this.#save({ current: id, keys: { [id]: randomBytes(32).toString("base64") } });
    }
    this.#file = this.#load();
  }

  #load(): KeyFile {
    this.#mtimeMs = statSync(this.#path).mtimeMs;
    const file = JSON.parse(readFileSync(this.#path, "utf8")) as KeyFile;
    if (!file.keys[file.current]) throw new Error(`${KEY_FILE}: the current key is missing`);
    return file;
  }

  #save(file: KeyFile): void {
    const temp = `${this.#path}.tmp`;
    writeFileSync(temp, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
    chmodSync(temp, 0o600);
    renameSync(temp, this.#path);
  }

  /** Picks up a rotation made by another process (checked at most once a second). */
  #fresh(): KeyFile {
    const now = Date.now();
    if (now - this.#checkedAt > 1000) {
      this.#checkedAt = now;
      if (statSync(this.#path).mtimeMs !== this.#mtimeMs) this.#file = this.#load();
    }
    return this.#file;
  }

  #key(id: string): Buffer {
    let key = this.#fresh().keys[id];
    if (!key) {
      this.#file = this.#load();
      key = this.#file.keys[id];
    }
    if (!key) throw new Error(`master key ${id} is not in ${KEY_FILE}`);
    return Buffer.from(key, "base64");
  }

  get currentId(): string {
    return this.#fresh().current;
  }

  /** `keyId:iv:sealed` (base64 parts), the data key sealed by the current master key. */
  wrap(dataKey: Buffer): string {
    const id = this.currentId;
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.#key(id), iv);
    cipher.setAAD(Buffer.from(id));
    const sealed = Buffer.concat([cipher.update(dataKey), cipher.final(), cipher.getAuthTag()]);
    return `${id}:${iv.toString("base64")}:${sealed.toString("base64")}`;
  }

  unwrap(wrapped: string): Buffer {
    const [id = "", iv = "", sealed = ""] = wrapped.split(":");
    const bytes = Buffer.from(sealed, "base64");
    const decipher = createDecipheriv("aes-256-gcm", this.#key(id), Buffer.from(iv, "base64"));
    decipher.setAAD(Buffer.from(id));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_SIZE));
    return Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - TAG_SIZE)), decipher.final()]);
  }

  /** Makes a new current key; the old ones stay until `retire` (after every data key is re-wrapped). */
  rotate(): string {
    const file = this.#load();
    const id = randomBytes(4).toString("hex");
    this.#save({ current: id, keys: { ...file.keys, [id]: randomBytes(32).toString("base64") } });
    this.#file = this.#load();
    return id;
  }

  /** Drops every key but the current one and those still in use. */
  retire(inUse: ReadonlySet<string>): string[] {
    const file = this.#load();
    const dropped = Object.keys(file.keys).filter((id) => id !== file.current && !inUse.has(id));
    const keys = Object.fromEntries(Object.entries(file.keys).filter(([id]) => !dropped.includes(id)));
    this.#save({ current: file.current, keys });
    this.#file = this.#load();
    return dropped;
  }
}

/** The master key id a wrapped data key was sealed with. */
export function wrappingKeyId(wrapped: string): string {
  return wrapped.slice(0, wrapped.indexOf(":"));
}

export function newDataKey(): Buffer {
  return randomBytes(32);
}

/**
 * Seals plaintext into chunks as it streams, without copying it into chunk
 * buffers first; the sealed bytes go on in runs of about 256 KiB, so the file
 * gets a few large writes instead of one per socket read.
 */
export function encryptingStream(dataKey: Buffer): Transform {
  const RUN = 256 * 1024;
  let index = 0;
  let cipher: CipherGCM | undefined;
  let filled = 0;
  let sealed: Buffer[] = [];
  let sealedBytes = 0;
  const emit = (bytes: Buffer) => {
    sealed.push(bytes);
    sealedBytes += bytes.length;
  };
  const close = () => {
    if (!cipher) return;
    emit(cipher.final());
    emit(cipher.getAuthTag());
    cipher = undefined;
    filled = 0;
    index++;
  };
  const take = (): Buffer => {
    const run = sealed.length === 1 ? (sealed[0] as Buffer) : Buffer.concat(sealed, sealedBytes);
    sealed = [];
    sealedBytes = 0;
    return run;
  };
  return new Transform({
    transform(data: Buffer, _encoding, callback: TransformCallback) {
      let offset = 0;
      while (offset < data.length) {
        if (!cipher) {
          cipher = createCipheriv("aes-256-gcm", dataKey, nonce(index));
          cipher.setAAD(nonce(index));
        }
        const n = Math.min(CHUNK_SIZE - filled, data.length - offset);
        emit(cipher.update(data.subarray(offset, offset + n)));
        filled += n;
        offset += n;
        if (filled === CHUNK_SIZE) close();
      }
      callback(null, sealedBytes >= RUN ? take() : undefined);
    },
    flush(callback: TransformCallback) {
      close();
      callback(null, sealedBytes > 0 ? take() : undefined);
    },
  });
}

/** A chunk that fails its tag: the bytes on disk are not what was written. */
export class TamperedBlobError extends Error {
  constructor(index: number) {
    super(`encrypted chunk ${index} failed authentication`);
    this.name = "TamperedBlobError";
  }
}

/**
 * Plaintext bytes [first, last] (inclusive) of an encrypted blob of `size`
 * plaintext bytes: reads and opens only the chunks that hold them.
 */
export async function* decryptRange(options: {
  file: FileHandle;
  dataKey: Buffer;
  size: number;
  first: number;
  last: number;
}): AsyncGenerator<Buffer> {
  const { file, dataKey, size, first, last } = options;
  const lastChunk = Math.floor(last / CHUNK_SIZE);
  // Sealed chunks are read 16 at a time (about 1 MiB): fewer reads, same memory bound.
  const batch = Buffer.allocUnsafe(16 * SEALED_CHUNK);
  for (let index = Math.floor(first / CHUNK_SIZE); index <= lastChunk; ) {
    const count = Math.min(16, lastChunk - index + 1);
    const plainInBatch = Math.min(count * CHUNK_SIZE, size - index * CHUNK_SIZE);
    const sealedInBatch = plainInBatch + count * TAG_SIZE;
    const { bytesRead } = await file.read(batch, 0, sealedInBatch, index * SEALED_CHUNK);
    if (bytesRead !== sealedInBatch) throw new TamperedBlobError(index);
    for (let i = 0; i < count; i++, index++) {
      const plainLength = Math.min(CHUNK_SIZE, size - index * CHUNK_SIZE);
      const at = i * SEALED_CHUNK;
      const decipher = createDecipheriv("aes-256-gcm", dataKey, nonce(index));
      decipher.setAAD(nonce(index));
      decipher.setAuthTag(batch.subarray(at + plainLength, at + plainLength + TAG_SIZE));
      // GCM is a stream mode: update() gives the whole chunk; final() checks the tag (the batch is reused).
      const plain = decipher.update(batch.subarray(at, at + plainLength));
      try {
        decipher.final();
      } catch {
        throw new TamperedBlobError(index);
      }
      const from = index * CHUNK_SIZE;
      yield plain.subarray(Math.max(first - from, 0), Math.min(last - from, plainLength - 1) + 1);
    }
  }
}
