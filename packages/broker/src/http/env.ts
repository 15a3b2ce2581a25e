// The Hono environment shared by every route, and the router factory that
// turns schema validation failures into 400 SluiceErrors.
import { OpenAPIHono } from "@hono/zod-openapi";
import { errors } from "@sluice/core";
import type { Context } from "hono";
import type { Principal } from "../auth/principal.ts";

export interface AppEnv {
  Variables: { principal: Principal; ip: string | undefined };
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

/**
 * Client address: the socket's peer on Node, API Gateway's source IP on Lambda;
 * X-Forwarded-For only when server.trustProxy says a proxy in front sets it.
 */
export function clientIp(c: Context, trustProxy = false): string | undefined {
  if (trustProxy) {
    const forwarded = c.req.header("x-forwarded-for")?.split(",")[0]?.trim();
    if (forwarded) return forwarded;
  }
  const env = c.env as
    | {
        incoming?: { socket?: { remoteAddress?: string } };
        requestContext?: { identity?: { sourceIp?: string }; http?: { sourceIp?: string } };
      }
    | undefined;
  return (
    env?.incoming?.socket?.remoteAddress ??
    env?.requestContext?.http?.sourceIp ??
    env?.requestContext?.identity?.sourceIp
  );
}
