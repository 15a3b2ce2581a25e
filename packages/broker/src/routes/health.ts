// Liveness, readiness (database + storage reachable, plus the checks given) and Prometheus metrics.
import { HeadBucketCommand } from "@aws-sdk/client-s3";
import { Hono } from "hono";
import { sql } from "kysely";
import type { BrokerContext } from "../context.ts";

export function healthRoutes(ctx: BrokerContext) {
  const app = new Hono();
  app.get("/healthz", (c) => c.json({ ok: true }));
  app.get("/readyz", async (c) => {
    const checks: Record<string, boolean> = { database: false, storage: false };
    await Promise.all([
      ...Object.entries(ctx.readiness).map(([name, check]) =>
        check().then(
          (ok) => {
            checks[name] = ok;
          },
          () => {
            checks[name] = false;
          },
        ),
      ),
      sql`select 1`.execute(ctx.db).then(
        () => {
          checks.database = true;
        },
        () => undefined,
      ),
      ctx.s3.send(new HeadBucketCommand({ Bucket: ctx.target.bucket })).then(
        () => {
          checks.storage = true;
        },
        () => undefined,
      ),
    ]);
    const ok = Object.values(checks).every(Boolean);
    return c.json({ ok, checks }, ok ? 200 : 503);
  });
  app.get("/metrics", async (c) => {
    const [states, jobs] = await Promise.all([
      ctx.db
        .selectFrom("uploads")
        .select((eb) => ["state", eb.fn.countAll<number | string>().as("n")])
        .groupBy("state")
        .execute(),
      ctx.db
        .selectFrom("jobs")
        .select((eb) => eb.fn.countAll<number | string>().as("n"))
        .where("state", "=", "queued")
        .executeTakeFirst(),
    ]);
    const gauges = [
      ...states.map((s) => ({
        name: "sluice_uploads",
        help: "Uploads by state",
        labels: { state: s.state },
        value: Number(s.n),
      })),
      { name: "sluice_jobs_queued", help: "Verification jobs waiting", value: Number(jobs?.n ?? 0) },
    ];
    return c.text(ctx.metrics.render(gauges), 200, { "content-type": "text/plain; version=0.0.4" });
  });
  return app;
}
