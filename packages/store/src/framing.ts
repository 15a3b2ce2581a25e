import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { newRequestId, renderError, s3Error } from "./errors.ts";

/**
 * HTTP framing as S3 answers it: a request node:http cannot parse still gets
 * an S3 XML error and a clean close, never a dropped socket. S3 limits the
 * header section to 8 KB; more than a few hundred headers is refused too.
 */
export const MAX_HEADER_BYTES = 8 * 1024;
export const MAX_HEADERS = 300;

function parseErrorOf(error: NodeJS.ErrnoException): ReturnType<typeof s3Error> | undefined {
  switch (error.code) {
    case "HPE_HEADER_OVERFLOW":
      return s3Error("RequestHeaderSectionTooLarge");
    case "HPE_INVALID_CONTENT_LENGTH":
    case "HPE_UNEXPECTED_CONTENT_LENGTH":
      return s3Error("InvalidArgument", "Invalid Content-Length, or Content-Length with Transfer-Encoding.");
    case "HPE_INVALID_TRANSFER_ENCODING":
      return s3Error(
        "InvalidArgument",
        "Invalid Transfer-Encoding, or Transfer-Encoding with Content-Length.",
      );
    case "HPE_INVALID_CHUNK_SIZE":
      return s3Error("IncompleteBody", "The chunked request body is malformed.");
    case "ERR_HTTP_REQUEST_TIMEOUT":
    case "HPE_HEADERS_TIMEOUT":
      return s3Error("RequestTimeout");
    case "ECONNRESET":
    case "EPIPE":
      return undefined;
    default:
      return s3Error("InvalidRequest", "The HTTP request is malformed.");
  }
}

/** Writes an S3 XML error straight on the socket (no request object exists) and closes after it. */
function answerOnSocket(socket: Duplex, error: NodeJS.ErrnoException): void {
  const known = socket.writable ? parseErrorOf(error) : undefined;
  if (!known) {
    socket.destroy();
    return;
  }
  const rendered = renderError(known, "/", newRequestId());
  const head = [
    `HTTP/1.1 ${rendered.status} ${rendered.status === 400 ? "Bad Request" : "Error"}`,
    "content-type: application/xml",
    `content-length: ${Buffer.byteLength(rendered.body)}`,
    "server: Sluice",
    "connection: close",
  ];
  socket.end(`${head.join("\r\n")}\r\n\r\n${rendered.body}`);
}

/**
 * A request whose body stalls for `timeoutMs` is answered 400 RequestTimeout
 * and its connection closed (S3 does the same after about 20 seconds).
 * Once the body is in, a slow operation is not cut short.
 */
function watchBody(raw: IncomingMessage, res: ServerResponse, timeoutMs: number, id: string): void {
  res.setTimeout(timeoutMs, () => {
    if (raw.complete) return;
    if (res.headersSent) return void raw.socket.destroy();
    const rendered = renderError(s3Error("RequestTimeout"), raw.url?.split("?")[0] ?? "/", id);
    res.writeHead(rendered.status, { ...rendered.headers, connection: "close" });
    // The stalled body's reader sees the connection go and cleans up (IncompleteBody, blob removed).
    res.end(rendered.body, () => raw.socket.destroy());
  });
}

/**
 * Configures a store's node:http server for S3 framing and returns the
 * per-request checks; `handle` is the store's request handler.
 */
export function applyFraming(
  server: Server,
  options: {
    bodyTimeoutMs: number;
    handle: (raw: IncomingMessage, res: ServerResponse) => void;
  },
): (raw: IncomingMessage, res: ServerResponse, id: string) => void {
  // The whole-request timeout (node's default 5 minutes) would cut long uploads: stalls are caught by watchBody.
  server.requestTimeout = 0;
  server.maxHeadersCount = MAX_HEADERS + 1;
  server.on("clientError", (error: NodeJS.ErrnoException, socket: Duplex) => answerOnSocket(socket, error));
  // S3 ignores an Expect it does not know (node would answer 417).
  server.on("checkExpectation", options.handle);
  return (raw, res, id) => {
    watchBody(raw, res, options.bodyTimeoutMs, id);
    if (raw.rawHeaders.length / 2 > MAX_HEADERS)
      throw s3Error("RequestHeaderSectionTooLarge", `Your request has more than ${MAX_HEADERS} headers.`);
  };
}
