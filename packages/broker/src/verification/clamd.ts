// A clamd INSTREAM client: streams bytes to clamd over TCP or a unix socket in
// length-prefixed chunks and reads its verdict. Hand-written (~100 lines)
// rather than the `clamscan` package because clamscan's scanStream writes to
// the socket without waiting for `drain` (a fast source such as S3 piles up in
// the socket's buffer: the whole object in memory when clamd is slower) and
// logs to the console; here a chunk is only read from storage once clamd took
// the previous one, so memory stays at a few chunks whatever the file size.
import { createConnection, type Socket } from "node:net";

export type ClamdAddress = { host: string; port: number } | { socket: string };

export type ClamdVerdict =
  | { result: "clean" }
  | { result: "infected"; signature: string }
  /** clamd refused the stream: longer than its StreamMaxLength. */
  | { result: "too-large" };

/** clamd is unreachable, timed out or answered something else: the scan can be retried. */
export class ClamdUnavailable extends Error {
  override name = "ClamdUnavailable";
}

/** clamd reads at most this much per chunk; larger chunks are split. */
const CHUNK = 64 * 1024;

function connect(address: ClamdAddress, timeoutMs: number): Socket {
  const socket =
    "socket" in address
      ? createConnection({ path: address.socket })
      : createConnection({ host: address.host, port: address.port });
  socket.setNoDelay(true);
  socket.setTimeout(timeoutMs);
  return socket;
}

/**
 * Sends `body` to clamd as one INSTREAM and resolves with the verdict.
 * `timeoutMs` is the longest clamd may stay silent (connecting, taking data, scanning).
 * Errors name no address: they end up in the file's checks, which its owner sees.
 */
export async function clamdScan(options: {
  address: ClamdAddress;
  body: AsyncIterable<Uint8Array>;
  timeoutMs: number;
}): Promise<ClamdVerdict> {
  const socket = connect(options.address, options.timeoutMs);
  let connected = false;
  let sent = 0;
  let reply = "";
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const replied = () => reply.includes("\0");
  // clamd stops reading past its StreamMaxLength, replies and closes; the reply is lost
  // when the close resets the connection while data is still coming (Linux drops it).
  const lost = (what: string) =>
    new ClamdUnavailable(
      connected
        ? `clamd ${what} after ${sent} bytes without a verdict (more than its StreamMaxLength?)`
        : `clamd unreachable (${what})`,
    );
  const settled = new Promise<void>((resolve) => {
    const finish = (error?: Error) => {
      failure ??= error;
      wake?.();
      resolve();
    };
    socket.on("connect", () => {
      connected = true;
    });
    socket.on("data", (chunk: Buffer) => {
      reply += chunk.toString("utf8");
      // One reply per command, NUL-terminated (the z prefix).
      if (replied()) finish();
    });
    socket.on("timeout", () =>
      finish(new ClamdUnavailable(`clamd timed out (silent for ${options.timeoutMs / 1000} s)`)),
    );
    // Once clamd replied, the EPIPE of writes it no longer reads does not count.
    socket.on("error", (error: NodeJS.ErrnoException) =>
      finish(replied() ? undefined : lost(error.code ?? error.message)),
    );
    socket.on("close", () => finish(replied() ? undefined : lost("closed the connection")));
    socket.on("drain", () => wake?.());
  });
  const answered = () => failure !== undefined || replied();
  const waitForDrain = () =>
    new Promise<void>((resolve) => {
      wake = resolve;
    });

  try {
    socket.write("zINSTREAM\0");
    for await (const data of options.body) {
      for (let offset = 0; offset < data.length && !answered(); offset += CHUNK) {
        const piece = data.subarray(offset, offset + CHUNK);
        const header = Buffer.allocUnsafe(4);
        header.writeUInt32BE(piece.length);
        socket.write(header);
        sent += piece.length;
        if (!socket.write(piece)) await waitForDrain();
      }
      if (answered()) break; // clamd answered early (size limit) or failed: stop reading the source
    }
    if (!answered()) socket.write(Buffer.alloc(4));
    await settled;
  } finally {
    socket.destroy();
  }
  return verdict(reply, failure);
}

function verdict(reply: string, failure: Error | undefined): ClamdVerdict {
  const text = reply.split("\0")[0]!.trim();
  if (/size limit exceeded/i.test(text)) return { result: "too-large" };
  if (failure) throw failure;
  // "stream: OK", "stream: Win.Test.EICAR_HDB-1 FOUND", "… ERROR"
  const found = /^stream: (.+) FOUND$/.exec(text);
  if (found) return { result: "infected", signature: found[1]! };
  if (text === "stream: OK") return { result: "clean" };
  throw new ClamdUnavailable(`clamd answered: ${text.slice(0, 200)}`);
}
