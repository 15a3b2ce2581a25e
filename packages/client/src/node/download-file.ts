/**
 * Downloads a file to disk through a presigned GET. Bytes go to OUT.part;
 * after an interruption (network error, killed process) the next attempt
 * asks for the rest with a Range header. OUT appears only once complete
 * (and, when the broker knows the file's SHA-256, only if it matches).
 */
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { SluiceError } from "@sluice/core";
import type { SluiceClient } from "../client.ts";
import { type Progress, ProgressMeter } from "../progress.ts";
import { withRetries } from "../retry.ts";
import { storageRequest } from "../storage-request.ts";

export interface DownloadFileOptions {
  onProgress?: (progress: Progress) => void;
  signal?: AbortSignal;
}

export interface DownloadFileResult {
  path: string;
  size: number;
  /** Bytes that were already on disk from an earlier attempt. */
  resumedFrom: number;
}

export async function downloadToFile(
  client: SluiceClient,
  id: string,
  out: string,
  options: DownloadFileOptions = {},
): Promise<DownloadFileResult> {
  const file = await client.file(id);
  const partial = `${out}.part`;
  const marker = `${out}.part.json`;
  const existing = await resumable(partial, marker, id);
  const meter = new ProgressMeter(file.size);
  meter.skip(existing);
  meter.onChange = () => options.onProgress?.(meter.snapshot());
  await writeFile(marker, JSON.stringify({ id, size: file.size }), { mode: 0o600 });

  await withRetries({
    policy: { retries: 8, baseDelayMs: 200, maxDelayMs: 10_000 },
    signal: options.signal,
    attempt: async () => {
      const have = await sizeOf(partial);
      if (have === file.size) return;
      // Each attempt gets a fresh URL: presigned GETs live minutes.
      const response = await openGet(client, id, { start: have, signal: options.signal });
      const append = have > 0 && response.partial;
      if (!append) meter.add(-have);
      const sink = createWriteStream(partial, { flags: append ? "a" : "w", mode: 0o600 });
      try {
        for await (const chunk of response.body) {
          if (!sink.write(chunk)) await new Promise<void>((resolve) => sink.once("drain", () => resolve()));
          meter.add(chunk.byteLength);
        }
      } catch (error) {
        throw new SluiceError({
          code: "NetworkError",
          status: 0,
          message: "Download interrupted",
          cause: error,
        });
      } finally {
        await new Promise<void>((resolve) => sink.end(() => resolve()));
      }
      const now = await sizeOf(partial);
      if (now !== file.size) {
        throw new SluiceError({
          code: "NetworkError",
          status: 0,
          message: `Download stopped at ${now} of ${file.size} bytes`,
        });
      }
    },
  });
  if (file.sha256 && (await sha256Of(partial)) !== file.sha256) {
    // Corrupt on disk or in transit: start over next time rather than resume on bad bytes.
    await rm(partial, { force: true });
    await rm(marker, { force: true });
    throw new SluiceError({
      code: "ChecksumMismatch",
      status: 422,
      message: `The downloaded bytes do not match the file's SHA-256; ${out} was not written. Run the download again.`,
    });
  }
  await rename(partial, out);
  await rm(marker, { force: true });
  return { path: out, size: file.size, resumedFrom: existing };
}

/** The file's bytes as a stream (from `start`), through a fresh presigned GET. */
export async function downloadStream(
  client: SluiceClient,
  id: string,
  options: { start?: number; signal?: AbortSignal } = {},
): Promise<AsyncIterable<Uint8Array>> {
  return (await openGet(client, id, options)).body;
}

async function openGet(
  client: SluiceClient,
  id: string,
  options: { start?: number; signal?: AbortSignal },
): Promise<{ partial: boolean; body: AsyncIterable<Uint8Array> }> {
  const { url } = await client.download(id);
  const response = await storageRequest({
    transport: client.transport,
    method: "GET",
    url,
    headers: options.start ? { range: `bytes=${options.start}-` } : {},
    signal: options.signal,
  });
  if (!response.stream) {
    throw new SluiceError({
      code: "NoStream",
      status: 500,
      message: "The transport cannot stream downloads",
    });
  }
  return { partial: response.status === 206, body: response.stream() };
}

/** Bytes of an earlier attempt at the same file id, or 0 (then any stale partial is discarded). */
async function resumable(partial: string, marker: string, id: string): Promise<number> {
  try {
    const previous = JSON.parse(await readFile(marker, "utf8")) as { id?: unknown };
    if (previous.id === id) return await sizeOf(partial);
  } catch {
    // no marker: fresh download
  }
  await rm(partial, { force: true });
  return 0;
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk);
  return hash.digest("hex");
}

async function sizeOf(path: string): Promise<number> {
  return stat(path).then(
    (info) => info.size,
    () => 0,
  );
}
