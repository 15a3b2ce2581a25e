// Every route of the broker, and the OpenAPI document generated from their schemas.
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { BrokerContext } from "../context.ts";
import type { AppEnv } from "../http/env.ts";
import { apiKeyRoutes } from "./apiKeys.ts";
import { eventRoutes } from "./events.ts";
import { fileRoutes } from "./files.ts";
import { healthRoutes } from "./health.ts";
import { linkRoutes, publicLinkRoutes } from "./links.ts";
import { profileRoutes } from "./profiles.ts";
import { oneRequestRoutes } from "./put.ts";
import { serverRoutes } from "./server.ts";
import { uploadRoutes } from "./uploads.ts";
import { registerWebhookPayloads, webhookRoutes } from "./webhooks.ts";

export function mountRoutes(app: OpenAPIHono<AppEnv>, ctx: BrokerContext): void {
  app.route("/", uploadRoutes(ctx));
  app.route("/", oneRequestRoutes(ctx));
  app.route("/", fileRoutes(ctx));
  app.route("/", linkRoutes(ctx));
  app.route("/", publicLinkRoutes(ctx));
  app.route("/", eventRoutes(ctx));
  app.route("/", serverRoutes(ctx));
  app.route("/", webhookRoutes(ctx));
  registerWebhookPayloads(app);
  app.route("/", healthRoutes(ctx));
  app.route("/", profileRoutes(ctx));
  app.route("/", apiKeyRoutes(ctx));
  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer" });
  app.openAPIRegistry.registerComponent("securitySchemes", "eventsToken", { type: "http", scheme: "bearer" });
  // `servers` names the URL clients use: server.publicUrl, else the origin the request came to.
  app.get("/openapi.json", (c) =>
    c.json(openApiDocument(app, ctx.config.server.publicUrl ?? new URL(c.req.url).origin)),
  );
}

/**
 * The OpenAPI 3.1 document of the mounted routes, served at /openapi.json and
 * rendered into docs/reference by `npm run docs`. Every operation has an
 * operationId: the one its route names, else one made of its method and path.
 */
export function openApiDocument(app: OpenAPIHono<AppEnv>, serverUrl: string) {
  const document = app.getOpenAPI31Document({
    openapi: "3.1.0",
    info: {
      title: "Sluice broker",
      version: "1",
      description: "Presigned, narrowly scoped grants for direct uploads and downloads",
    },
    servers: [{ url: serverUrl.replace(/\/$/, "") }],
    security: [{ bearer: [] }],
  });
  for (const [path, item] of Object.entries(document.paths ?? {})) {
    for (const [method, operation] of Object.entries(item ?? {})) {
      if (typeof operation !== "object" || operation === null || !("responses" in operation)) continue;
      const op = operation as { operationId?: string };
      op.operationId ??= derivedOperationId(method, path);
    }
  }
  return document;
}

/** post /v1/uploads/{id}/complete → postUploadsIdComplete */
function derivedOperationId(method: string, path: string): string {
  const words = path
    .split(/[/{}_-]+/)
    .filter((w) => w && w !== "v1")
    .map((w) => w[0]!.toUpperCase() + w.slice(1));
  return method.toLowerCase() + words.join("");
}
