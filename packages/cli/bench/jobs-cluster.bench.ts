// Brokers as separate `sluice serve` processes on one PostgreSQL (started the
// way the cluster test starts them), storage an embedded store in this process:
// grants/s and p99 of three brokers against one (autocannon, connections
// round-robin over the brokers, CPU of the broker processes from /proc); then
// recovery after a SIGKILL of a broker (until the jobs it held a lease on are
// finished by the others) and after a PostgreSQL restart (until every broker
// grants again). Runs where the PostgreSQL tier is (a private server from the
// same binaries, since this bench restarts it).
import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mintToken, parseConfig } from "@sluice/broker";
import { DURATION_S, type LoadResult, load } from "@sluice/broker/bench";
import { printTable } from "@sluice/core/bench";
import { postgresBinaries, postgresTier, startPostgres } from "@sluice/core/testing";
import { startStore } from "@sluice/store";
import pg from "pg";
import type { Serve } from "../src/test/cli.ts";
import { brokerWorkerId, startBrokers } from "../src/test/cluster.ts";

/** A multiple of 3, so that each of three brokers gets the same number of connections. */
const CONNECTIONS = 48;
const BROKER_COUNTS = [1, 3];
const ROUNDS = Number(process.env.SLUICE_BENCH_ROUNDS ?? 2);
const LEASE_SECONDS = 3;
const VERIFY_UPLOADS = 12;
const UPLOAD_BYTES = 8 * 1024 * 1024;
const GRANT_BODY = JSON.stringify({ name: "report.pdf", size: 1_048_576, type: "application/pdf" });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every `everyMs` until it holds; throws after a minute (the bench must not hang). */
async function until(what: string, check: () => Promise<boolean>, everyMs = 20): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`jobs-cluster bench: ${what} did not happen within a minute`);
    await sleep(everyMs);
  }
}

async function stopAll(brokers: Serve[]): Promise<void> {
  const running = brokers.filter((b) => b.child.exitCode === null && b.child.signalCode === null);
  await Promise.all(running.map((b) => b.stop()));
}

async function grantStatus(url: string, headers: Record<string, string>): Promise<number> {
  try {
    const res = await fetch(`${url}/v1/uploads`, { method: "POST", headers, body: GRANT_BODY });
    await res.body?.cancel();
    return res.status;
  } catch {
    return 0;
  }
}

/** Grants and PUTs `count` uploads through `url`, returning their ids (not completed yet). */
async function putUploads(url: string, headers: Record<string, string>, count: number): Promise<string[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const data = randomBytes(UPLOAD_BYTES);
      const sha256 = createHash("sha256").update(data).digest("hex");
      const body = JSON.stringify({
        name: `f${i}.bin`,
        size: data.length,
        type: "application/octet-stream",
        sha256,
      });
      const res = await fetch(`${url}/v1/uploads`, { method: "POST", headers, body });
      const grant = (await res.json()) as {
        upload: { id: string };
        put: { url: string; headers: Record<string, string> };
      };
      if (res.status !== 201) throw new Error(`grant failed ${res.status}: ${JSON.stringify(grant)}`);
      const { "content-length": _length, ...putHeaders } = grant.put.headers;
      const put = await fetch(grant.put.url, { method: "PUT", headers: putHeaders, body: data });
      if (!put.ok) throw new Error(`PUT failed ${put.status}`);
      return grant.upload.id;
    }),
  );
}

/**
 * Completes uploads through `victim` (whose worker is kicked at once and claims before the others
 * poll), SIGKILLs it once it holds a job lease, and times how long the others take to finish those jobs.
 */
async function killRecovery(
  databaseUrl: string,
  victim: { broker: Serve; workerId: string },
  headers: Record<string, string>,
): Promise<{ held: number; seconds: number }> {
  const { broker } = victim;
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const ids = await putUploads(broker.url, headers, VERIFY_UPLOADS);
    const completing = Promise.allSettled(
      ids.map((id) =>
        fetch(`${broker.url}/v1/uploads/${id}/complete`, { method: "POST", headers, body: "{}" }),
      ),
    );
    const heldByVictim = async () =>
      (
        await db.query<{ id: string }>("SELECT id FROM jobs WHERE locked_by = $1 AND state = 'queued'", [
          victim.workerId,
        ])
      ).rows.map((row) => row.id);
    await until("a job lease held by the victim", async () => (await heldByVictim()).length > 0, 5);
    const exited = new Promise((resolve) => broker.child.once("exit", resolve));
    broker.child.kill("SIGKILL");
    await exited;
    const killedAt = performance.now();
    const held = await heldByVictim();
    await completing;
    const finished = async () =>
      (await db.query("SELECT 1 FROM jobs WHERE id = ANY($1) AND state = 'done'", [held])).rowCount ===
      held.length;
    await until("the victim's jobs finished elsewhere", finished);
    return { held: held.length, seconds: (performance.now() - killedAt) / 1000 };
  } finally {
    await db.end();
  }
}

export default async function jobsClusterBench(): Promise<void> {
  const tier = postgresTier();
  const binaries = postgresBinaries();
  if (!tier.available || !binaries.available) {
    console.log(
      `(brokers on PostgreSQL skipped: ${tier.available ? "" : tier.reason}${binaries.available ? "" : binaries.reason})`,
    );
    return;
  }
  console.log("PostgreSQL tier present: a private server from its binaries (this bench restarts it)");
  const root = await mkdtemp(join(tmpdir(), "sluice-bench-cluster-"));
  const credentials = { accessKeyId: "AKBENCH", secretAccessKey: randomBytes(20).toString("hex") };
  const store = await startStore({ dataDir: join(root, "store"), port: 0, credentials: [credentials] });
  const postgres = await startPostgres(binaries.value);
  const config = {
    storage: { endpoint: store.endpoint, ...credentials, capabilities: { checksums: false } },
    database: { url: postgres.url, connectTimeout: "2s" },
    auth: { jwt: { secret: randomBytes(32).toString("hex") } },
    jobs: { leaseTime: `${LEASE_SECONDS}s` },
    log: { level: "warn" },
  };
  const token = await mintToken(parseConfig(config), { tenant: "bench", user: "u" });
  const headers = { "content-type": "application/json", authorization: `Bearer ${token}` };
  const brokers: Serve[] = [];
  try {
    // Interleaved rounds, each size keeping its best (least CPU per grant): the machine's load drifts.
    const best = new Map<number, LoadResult>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const count of BROKER_COUNTS) {
        const dir = join(root, `grants-${round}-${count}`);
        await mkdir(dir);
        const started = await startBrokers({ root: dir, config, count });
        brokers.push(...started);
        const request = { url: started.map((b) => `${b.url}/v1/uploads`), body: GRANT_BODY, headers };
        const result = await load(
          started.map((b) => b.child.pid!),
          request,
          CONNECTIONS,
        );
        await stopAll(started);
        const previous = best.get(count);
        if (!previous || result.cpuMicros < previous.cpuMicros) best.set(count, result);
      }
    }
    printTable({
      title: `Grants on one PostgreSQL: ${CONNECTIONS} connections (autocannon) round-robin over the brokers, ${DURATION_S} s, best of ${ROUNDS} interleaved rounds; CPU of the broker processes from /proc`,
      unit: "grants/s",
      baseline: "1 broker",
      rows: BROKER_COUNTS.map((count) => {
        const result = best.get(count)!;
        return {
          name: `${count} broker${count > 1 ? "s" : ""}`,
          value: result.perSecond,
          extra: {
            p99: `${result.p99} ms`,
            "CPU µs/grant": Math.round(result.cpuMicros).toLocaleString("en-US"),
            errors: String(result.errors),
          },
        };
      }),
    });

    const dir = join(root, "recovery");
    await mkdir(dir);
    const cluster = await startBrokers({ root: dir, config, count: 3 });
    brokers.push(...cluster);
    const victim = cluster[1]!;
    const jobs = await killRecovery(postgres.url, { broker: victim, workerId: brokerWorkerId(1) }, headers);
    const live = cluster.filter((b) => b !== victim);
    await postgres.stop();
    await sleep(1000);
    const refused = await Promise.all(live.map((b) => grantStatus(b.url, headers)));
    await postgres.start();
    const upAt = performance.now();
    const recoveredAfter = await Promise.all(
      live.map(async (b) => {
        await until("a grant after the restart", async () => (await grantStatus(b.url, headers)) === 201);
        return (performance.now() - upAt) / 1000;
      }),
    );
    console.log(
      `\nRecovery (3 brokers, jobs.leaseTime ${LEASE_SECONDS} s, worker poll 1 s):` +
        `\n  SIGKILL of a broker holding ${jobs.held} job lease(s): finished by the others ${jobs.seconds.toFixed(2)} s after the kill` +
        `\n  PostgreSQL restart (down 1 s, grants answered ${refused.join(", ")}): every live broker grants again ${Math.max(...recoveredAfter).toFixed(2)} s after it was back`,
    );
  } finally {
    await stopAll(brokers);
    await postgres.destroy();
    await store.close();
    await rm(root, { recursive: true, force: true });
  }
}
