/**
 * The one error type of Sluice. Every failure a client can see is a SluiceError
 * with a stable code, an HTTP status and a message that is safe to show
 * (never a credential, a path on disk or a stack).
 *
 * The store renders it as S3 XML (`code` is then S3's own code, such as
 * `SignatureDoesNotMatch`); the broker renders it as JSON `{error:{code,message}}`.
 */
export class SluiceError extends Error {
  readonly code: string;
  readonly status: number;
  /** Extra response headers, e.g. Retry-After on 429. */
  readonly headers: Readonly<Record<string, string>>;

  constructor(options: {
    code: string;
    status: number;
    message: string;
    headers?: Record<string, string>;
    cause?: unknown;
  }) {
    super(options.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "SluiceError";
    this.code = options.code;
    this.status = options.status;
    this.headers = options.headers ?? {};
  }

  toJSON(): { error: { code: string; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

export function isSluiceError(value: unknown): value is SluiceError {
  return value instanceof SluiceError;
}

/** Shorthands for the statuses the broker's API uses (DESIGN: Errors). */
export const errors = {
  badRequest: (message: string, code = "BadRequest") => new SluiceError({ code, status: 400, message }),
  unauthorized: (message = "Authentication required", code = "Unauthorized") =>
    new SluiceError({ code, status: 401, message, headers: { "www-authenticate": "Bearer" } }),
  forbidden: (message: string, code = "Forbidden") => new SluiceError({ code, status: 403, message }),
  notFound: (message = "Not found", code = "NotFound") => new SluiceError({ code, status: 404, message }),
  conflict: (message: string, code = "Conflict") => new SluiceError({ code, status: 409, message }),
  tooLarge: (message: string, code = "PayloadTooLarge") => new SluiceError({ code, status: 413, message }),
  unsupportedType: (message: string, code = "UnsupportedMediaType") =>
    new SluiceError({ code, status: 415, message }),
  unprocessable: (message: string, code = "Unprocessable") => new SluiceError({ code, status: 422, message }),
  tooManyRequests: (retryAfterSeconds: number, message = "Too many requests") =>
    new SluiceError({
      code: "RateLimited",
      status: 429,
      message,
      headers: { "retry-after": String(Math.max(1, Math.ceil(retryAfterSeconds))) },
    }),
  unavailable: (message: string, code = "Unavailable") => new SluiceError({ code, status: 503, message }),
} as const;
