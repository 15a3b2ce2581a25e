import { createHash } from "node:crypto";
import { request as httpRequest } from "node:http";
import { signHeaders } from "@sluice/sigv4";
import type { ConformanceTarget } from "./target.ts";

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** <Code> of an S3 XML error body, or "-". */
  code: string;
}

/**
 * One HTTP request with the path sent exactly as given (fetch and URL would
 * resolve `..` and `//`), to 127.0.0.1 whatever the Host header says.
 */
export function rawRequest(options: {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
}): Promise<RawResponse> {
  const match = /^http:\/\/([^/]+)(\/.*)?$/.exec(options.url);
  if (!match) throw new TypeError(`not an http URL: ${options.url}`);
  const [, authority = "", path = "/"] = match;
  const port = Number(authority.split(":")[1] ?? 80);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: "127.0.0.1",
        port,
        path,
        method: options.method ?? "GET",
        headers: { host: authority, ...options.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const body = Buffer.concat(chunks);
          const code = /<Code>([^<]+)<\/Code>/.exec(body.toString("utf8"))?.[1] ?? "-";
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, code });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

/** A header-signed request (x-amz-content-sha256 = SHA-256 of the body) sent with rawRequest. */
export function signedRequest(
  target: ConformanceTarget,
  options: {
    method: string;
    path: string;
    headers?: Record<string, string>;
    body?: Buffer | string;
    now?: Date;
  },
): Promise<RawResponse> {
  const url = `${target.endpoint}${options.path}`;
  const body = options.body ?? "";
  const headers = signHeaders({
    method: options.method,
    url,
    headers: options.headers ?? {},
    payloadHash: createHash("sha256").update(body).digest("hex"),
    credentials: target.credentials,
    region: target.region,
    ...(options.now ? { now: options.now } : {}),
  });
  return rawRequest({ url, method: options.method, headers, body });
}

export function md5Base64(data: Buffer | string): string {
  return createHash("md5").update(data).digest("base64");
}
