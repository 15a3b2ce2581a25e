// GET /v1/profiles: the upload profiles a client may choose from (the CLI picks one by file type).
import { createRoute, z } from "@hono/zod-openapi";
import type { BrokerContext } from "../context.ts";
import { createRouter } from "../http/env.ts";
import { errorResponses, json } from "./schemas.ts";

const ProfileSchema = z
  .object({
    name: z.string(),
    minSize: z.number().int(),
    maxSize: z.number().int(),
    types: z.array(z.string()).openapi({ description: "Accepted media types; wildcards such as image/*" }),
    method: z.enum(["put", "post", "multipart", "auto"]),
  })
  .openapi("Profile");

const list = createRoute({
  method: "get",
  path: "/v1/profiles",
  operationId: "listProfiles",
  tags: ["uploads"],
  summary: "The upload profiles of this broker (size range and accepted types)",
  responses: { 200: json(z.object({ profiles: z.array(ProfileSchema) }), "Profiles"), ...errorResponses },
});

export function profileRoutes(ctx: BrokerContext) {
  const app = createRouter();
  const profiles = Object.entries(ctx.config.profiles).map(([name, p]) => ({
    name,
    minSize: p.minSize,
    maxSize: p.maxSize,
    types: p.types,
    method: p.method,
  }));
  app.openapi(list, (c) => c.json({ profiles }, 200));
  return app;
}
