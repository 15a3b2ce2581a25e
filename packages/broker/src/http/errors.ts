// Every failure becomes JSON {error:{code,message}} with the right status.
// Unexpected errors are logged and answered 500 without details.
import { SluiceError } from "@sluice/core";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { Logger } from "pino";
import { isDatabaseUnavailable } from "../db/open.ts";

export function errorResponse(error: SluiceError): Response {
  return new Response(JSON.stringify(error.toJSON()), {
    status: error.status,
    headers: { "content-type": "application/json", ...error.headers },
  });
}

export function createErrorHandler(log: Logger) {
  return (error: Error, c: Context): Response => {
    if (error instanceof SluiceError) {
      if (error.status >= 500)
        log.error(
          { code: error.code, err: error.cause instanceof Error ? error.cause.message : undefined },
          error.message,
        );
      return errorResponse(error);
    }
    if (error instanceof HTTPException) {
      const status = error.status;
      const code =
        { 401: "Unauthorized", 413: "PayloadTooLarge", 415: "UnsupportedMediaType" }[status as number] ??
        "BadRequest";
      return errorResponse(new SluiceError({ code, status, message: error.message || "Bad request" }));
    }
    if (isDatabaseUnavailable(error)) {
      log.warn({ err: error.message, path: c.req.path }, "database unavailable");
      return errorResponse(
        new SluiceError({
          code: "DatabaseUnavailable",
          status: 503,
          message: "The metadata database is unavailable; retry shortly",
          headers: { "retry-after": "1" },
        }),
      );
    }
    log.error({ err: error.message, stack: error.stack, path: c.req.path }, "unhandled error");
    return errorResponse(new SluiceError({ code: "InternalError", status: 500, message: "Internal error" }));
  };
}

export function notFoundResponse(): Response {
  return errorResponse(new SluiceError({ code: "NotFound", status: 404, message: "No such route" }));
}
