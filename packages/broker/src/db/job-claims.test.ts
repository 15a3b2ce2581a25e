// Job claiming between brokers on PostgreSQL: four workers, each with its own
// connection pool as separate brokers have, drain one queue. Every job is
// completed exactly once, and a job whose worker stopped renewing its lease is
// finished by another once the lease runs out.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import pino from "pino";
import { testDatabases } from "../test/databases.ts";
import { createWorker, type Worker } from "../verification/worker.ts";
import { enqueueJob, getJob, jobQueue } from "./jobs.ts";
import { type MetadataDb, openDatabase } from "./open.ts";
import type { JobRow } from "./schema.ts";

const postgres = testDatabases().find((d) => d.name === "postgres")!;
const JOBS = 400;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Broker {
  id: string;
  database: MetadataDb;
  worker: Worker;
  /** Job ids whose handler this worker ran, and those it finished (its lease still held). */
  ran: string[];
  finished: string[];
}

describe("job claims on PostgreSQL between brokers", { skip: postgres.skip }, () => {
  let url: string;
  let drop: (() => Promise<void>) | undefined;
  const brokers: Broker[] = [];

  before(async () => {
    if (postgres.skip) return;
    ({ url, drop } = await postgres.create());
  });
  after(async () => {
    for (const broker of brokers) await broker.database.close().catch(() => undefined);
    await drop?.();
  });

  async function startBroker(
    id: string,
    options: { leaseMs: number; handle?: (job: JobRow) => Promise<void> },
  ): Promise<Broker> {
    const database = await openDatabase(url, { pool: { poolSize: 2 } });
    const queue = jobQueue(database.db, {
      maxAttempts: 5,
      backoff: { retryDelayMs: 1000, maxRetryDelayMs: 60_000 },
      workerId: id,
    });
    const ran: string[] = [];
    const finished: string[] = [];
    const worker = createWorker({
      queue: {
        ...queue,
        async finish(job) {
          const held = await queue.finish(job);
          if (held) finished.push(job.id);
          return held;
        },
      },
      log: pino({ level: "silent" }),
      pollMs: 20,
      leaseMs: options.leaseMs,
      async handle(job) {
        ran.push(job.id);
        await (options.handle?.(job) ?? sleep(Math.random() * 3));
      },
    });
    const broker: Broker = { id, database, worker, ran, finished };
    brokers.push(broker);
    return broker;
  }

  it(`4 workers drain ${JOBS} jobs: each completed exactly once, none lost`, async (t) => {
    const db = (await openDatabase(url)).db;
    const ids = new Set<string>();
    try {
      for (let i = 0; i < JOBS; i++) ids.add(await enqueueJob(db, { kind: "verify", uploadId: `u${i}` }));
      const workers = await Promise.all(
        ["a", "b", "c", "d"].map((id) => startBroker(`drain-${id}`, { leaseMs: 30_000 })),
      );
      for (const broker of workers) broker.worker.start();
      const deadline = Date.now() + 60_000;
      const finished = () => workers.reduce((sum, b) => sum + b.finished.length, 0);
      while (finished() < JOBS && Date.now() < deadline) await sleep(50);
      await Promise.all(workers.map((b) => b.worker.stop()));

      const ran = workers.flatMap((b) => b.ran);
      const done = workers.flatMap((b) => b.finished);
      assert.equal(ran.length, JOBS, "each job's handler ran once (no job taken by two workers)");
      assert.equal(new Set(done).size, JOBS, "no double completion");
      assert.deepEqual(new Set(done), ids, "none lost");
      const states = await db
        .selectFrom("jobs")
        .select("state")
        .where("id", "in", [...ids])
        .execute();
      assert.ok(states.every((row) => row.state === "done"));
      for (const broker of workers) assert.ok(broker.ran.length > 0, `${broker.id} took part`);
      t.diagnostic(`jobs per worker: ${workers.map((b) => b.ran.length).join(", ")}`);
    } finally {
      await db.destroy();
    }
  });

  it("a worker that stops mid-job has its job finished by another after the lease time", async (t) => {
    const leaseMs = 600;
    let release: () => void = () => {};
    const stuck = new Promise<void>((resolve) => {
      release = resolve;
    });
    // The first broker takes the job and hangs in it; its database goes away (a dead broker:
    // no renewal, no completion).
    let leaseEnd = 0;
    const dying = await startBroker("dying", {
      leaseMs,
      handle: (job) => {
        leaseEnd = job.locked_until ?? 0;
        return stuck;
      },
    });
    const id = await enqueueJob(dying.database.db, { kind: "verify", uploadId: "stuck" });
    dying.worker.start();
    while (dying.ran.length === 0) await sleep(10);
    const stoppedAt = Date.now();
    await dying.database.close();

    const survivor = await startBroker("survivor", { leaseMs });
    survivor.worker.start();
    const deadline = Date.now() + 10_000;
    while (survivor.finished.length === 0 && Date.now() < deadline) await sleep(20);
    const finishedAt = Date.now();
    const elapsed = finishedAt - stoppedAt;
    release();
    await Promise.all([dying.worker.stop(), survivor.worker.stop()]);

    assert.deepEqual(survivor.finished, [id], "the other worker finished the job");
    assert.deepEqual(dying.finished, [], "the dead worker completed nothing");
    assert.ok(finishedAt >= leaseEnd, "taken over only once the lease ran out");
    const job = await getJob(survivor.database.db, id);
    assert.equal(job?.state, "done");
    assert.equal(job?.attempts, 2, "claimed twice: by the dead worker, then by the survivor");
    t.diagnostic(`finished by another worker ${elapsed} ms after the first stopped (lease ${leaseMs} ms)`);
  });
});
