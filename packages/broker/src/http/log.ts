// JSON logs (pino). Authorization headers, tokens, keys and signatures are
// never logged: request lines carry the route path only, never the query.
import pino, { type Logger } from "pino";

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: "sluice-broker" },
    redact: {
      paths: [
        "secret",
        "secretAccessKey",
        "token",
        "authorization",
        "*.secretAccessKey",
        "*.secret",
        "*.token",
        "*.authorization",
      ],
      censor: "[redacted]",
    },
  });
}
