// Job claiming on PostgreSQL: 4 workers, each with its own connection (as
// separate brokers have), drain SLUICE_BENCH_JOBS (default 10,000) queued jobs,
// each claimed and finished at once, so claims collide as often as they can.
// The claim of db/jobs.ts (FOR UPDATE SKIP LOCKED) against the previous
// statement (one conditional UPDATE, no row lock), each in a fresh database,
// best of SLUICE_BENCH_ROUNDS (default 2) interleaved rounds (least CPU per job).
// Latency per claim; CPU per job of this process and the workers' PostgreSQL
// backends (/proc, the server is local); empty claims are claims that found
// no job while jobs were still queued (a broker then waits its poll interval).
import { randomUUID } from "node:crypto";
import { cpuSecondsFromProc, printTable } from "@sluice/core/bench";
import { type Kysely, sql } from "kysely";
import { claimJob, finishJob } from "../src/db/jobs.ts";
import { type MetadataDb, openDatabase } from "../src/db/open.ts";
import type { Database, JobRow } from "../src/db/schema.ts";
import { benchPostgres } from "./grants.bench.ts";

const WORKERS = 4;
const JOBS = Number(process.env.SLUICE_BENCH_JOBS ?? 10_000);
const ROUNDS = Number(process.env.SLUICE_BENCH_ROUNDS ?? 2);
const LEASE_MS = 60_000;

type Claim = (
  db: Kysely<Database>,
  options: { now: number; leaseMs: number; workerId: string },
) => Promise<JobRow | undefined>;

/**
 * The claim before SKIP LOCKED, as it ran: concurrent claims all pick the same first job,
 * one wins, the others wait for its row lock, find it taken and come back empty.
 */
const claimWithoutRowLock: Claim = async (db, { now, leaseMs, workerId }) => {
  const { rows } = await sql<JobRow>`
    UPDATE jobs SET locked_until = ${now + leaseMs}, locked_by = ${workerId}, attempts = attempts + 1
    WHERE id = (
      SELECT id FROM jobs
      WHERE state = 'queued' AND run_at <= ${now} AND (locked_until IS NULL OR locked_until < ${now})
      ORDER BY run_at LIMIT 1
    )
    AND state = 'queued' AND (locked_until IS NULL OR locked_until < ${now})
    RETURNING *`.execute(db);
  return rows[0];
};

interface DrainResult {
  /** Latency of each claim that got a job, ms. */
  latencies: number[];
  emptyClaims: number;
  seconds: number;
  cpuMicrosPerJob: number;
}

async function queueJobs(db: Kysely<Database>): Promise<void> {
  const now = Date.now();
  for (let start = 0; start < JOBS; start += 1000) {
    const rows = Array.from({ length: Math.min(1000, JOBS - start) }, (_, i) => ({
      id: randomUUID(),
      kind: "verify",
      upload_id: `u${start + i}`,
      state: "queued" as const,
      // Distinct due times, oldest first, as jobs queued one by one have.
      run_at: now - JOBS + start + i,
      locked_until: null,
      locked_by: null,
      last_error: null,
      created_at: now,
    }));
    await db.insertInto("jobs").values(rows).execute();
  }
}

async function drain(url: string, claim: Claim): Promise<DrainResult> {
  const setup = await openDatabase(url);
  await queueJobs(setup.db);
  await sql`VACUUM ANALYZE jobs`.execute(setup.db);
  await setup.close();
  // One connection per worker, so each worker's PostgreSQL backend is one process to read CPU time from.
  const workers: MetadataDb[] = await Promise.all(
    Array.from({ length: WORKERS }, () => openDatabase(url, { pool: { poolSize: 1 } })),
  );
  const backends = await Promise.all(
    workers.map(
      async ({ db }) => (await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(db)).rows[0]!.pid,
    ),
  );
  const cpu = async () =>
    (
      await Promise.all([cpuSecondsFromProc("self"), ...backends.map((pid) => cpuSecondsFromProc(pid))])
    ).reduce((a, b) => a + b);
  const latencies: number[] = [];
  let finished = 0;
  let emptyClaims = 0;
  const cpuBefore = await cpu();
  const started = performance.now();
  await Promise.all(
    workers.map(async ({ db }, w) => {
      while (finished < JOBS) {
        const at = performance.now();
        const job = await claim(db, { now: Date.now(), leaseMs: LEASE_MS, workerId: `worker-${w}` });
        if (!job) {
          emptyClaims++;
          continue;
        }
        latencies.push(performance.now() - at);
        if (await finishJob(db, job)) finished++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpuMicrosPerJob = (((await cpu()) - cpuBefore) * 1e6) / JOBS;
  await Promise.all(workers.map((w) => w.close()));
  return { latencies, emptyClaims, seconds, cpuMicrosPerJob };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

export default async function jobsBench(): Promise<void> {
  const probe = await benchPostgres();
  if (!probe) {
    console.log("(job claims skipped: SLUICE_TEST_POSTGRES_URL unset; the PostgreSQL tier runs them)");
    return;
  }
  await probe.drop();
  console.log(
    `PostgreSQL tier at SLUICE_TEST_POSTGRES_URL: ${WORKERS} workers, ${JOBS} jobs, ${ROUNDS} round(s)`,
  );
  const candidates: Array<{ name: string; claim: Claim }> = [
    { name: "previous UPDATE (no row lock)", claim: claimWithoutRowLock },
    { name: "FOR UPDATE SKIP LOCKED", claim: claimJob },
  ];
  const best = new Map<string, DrainResult>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const candidate of candidates) {
      const database = (await benchPostgres())!;
      try {
        const result = await drain(database.url, candidate.claim);
        const previous = best.get(candidate.name);
        if (!previous || result.cpuMicrosPerJob < previous.cpuMicrosPerJob) best.set(candidate.name, result);
      } finally {
        await database.drop();
      }
    }
  }
  printTable({
    title: `Job claims: ${WORKERS} workers (one connection each), ${JOBS} queued jobs claimed and finished; CPU of this process + the workers' PostgreSQL backends`,
    unit: "CPU µs/job",
    lowerIsBetter: true,
    baseline: candidates[0]!.name,
    rows: candidates.map(({ name }) => {
      const r = best.get(name)!;
      const sorted = [...r.latencies].sort((a, b) => a - b);
      return {
        name,
        value: r.cpuMicrosPerJob,
        extra: {
          "claim p50": `${percentile(sorted, 50).toFixed(2)} ms`,
          "claim p99": `${percentile(sorted, 99).toFixed(2)} ms`,
          "empty claims/job": (r.emptyClaims / JOBS).toFixed(2),
          "jobs/s": Math.round(JOBS / r.seconds).toLocaleString("en-US"),
        },
      };
    }),
  });
}
