// The Hono environment shared by every route, and the router factory that
// turns schema validation failures into 400 SluiceErrors.
import { OpenAPIHono } from "@hono/zod-openapi";
import { errors } from "@sluice/core";
import type { Context } from "hono";
import type { Principal } from "../auth/principal.ts";

export interface AppEnv {
  Variables: { principal: Principal };
}

export function createRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        const issues = result.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`);
        throw errors.badRequest(issues.join("; "), "ValidationError");
      }
    },
  });
}

/** Client address: the socket's peer on Node (forwarded headers are not trusted). */
export function clientIp(c: Context): string | undefined {
  const env = c.env as
    | {
        incoming?: { socket?: { remoteAddress?: string } };
        requestContext?: { identity?: { sourceIp?: string } };
      }
    | undefined;
  return env?.incoming?.socket?.remoteAddress ?? env?.requestContext?.identity?.sourceIp;
}
