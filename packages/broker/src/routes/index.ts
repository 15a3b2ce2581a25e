// Every route of the broker, and the OpenAPI document generated from their schemas.
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { BrokerContext } from "../context.ts";
import type { AppEnv } from "../http/env.ts";
import { eventRoutes } from "./events.ts";
import { fileRoutes } from "./files.ts";
import { healthRoutes } from "./health.ts";
import { linkRoutes, publicLinkRoutes } from "./links.ts";
import { profileRoutes } from "./profiles.ts";
import { uploadRoutes } from "./uploads.ts";

export function mountRoutes(app: OpenAPIHono<AppEnv>, ctx: BrokerContext): void {
  app.route("/", uploadRoutes(ctx));
  app.route("/", fileRoutes(ctx));
  app.route("/", linkRoutes(ctx));
  app.route("/", publicLinkRoutes(ctx));
  app.route("/", eventRoutes(ctx));
  app.route("/", healthRoutes(ctx));
  app.route("/", profileRoutes(ctx));
  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer" });
  app.openAPIRegistry.registerComponent("securitySchemes", "eventsToken", { type: "http", scheme: "bearer" });
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "Sluice broker",
      version: "1",
      description: "Presigned, narrowly scoped grants for direct uploads and downloads",
    },
    security: [{ bearer: [] }],
  });
}
