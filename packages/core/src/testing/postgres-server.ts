// A private PostgreSQL server from Debian's packages, for tests that must stop
// and restart it (the shared tier server must stay up for everyone else).
import { execFile } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "./ports.ts";
import { type TierResult, tierMissing } from "./tiers.ts";

const run = promisify(execFile);
const ROOT_UID = 0;

/** The newest /usr/lib/postgresql/N/bin with initdb and pg_ctl. */
export function postgresBinaries(): TierResult<string> {
  const base = "/usr/lib/postgresql";
  const versions = existsSync(base)
    ? readdirSync(base)
        .filter((v) => existsSync(join(base, v, "bin", "pg_ctl")))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const newest = versions[0];
  if (!newest)
    return tierMissing(
      "PostgreSQL server binaries not found under /usr/lib/postgresql: apt-get install postgresql",
    );
  return { available: true, value: join(base, newest, "bin") };
}

export interface PostgresServer {
  /** postgres://postgres@127.0.0.1:PORT/postgres */
  url: string;
  start(): Promise<void>;
  /** A fast shutdown: connections are terminated, as in a restart or failover. */
  stop(): Promise<void>;
  /** Stops the server and removes its data. */
  destroy(): Promise<void>;
}

export async function startPostgres(bin: string): Promise<PostgresServer> {
  const dir = mkdtempSync(join(tmpdir(), "sluice-pg-"));
  const port = await freePort();
  // initdb refuses to run as root: run the server programs as Debian's postgres user.
  const asServerUser = process.getuid?.() === ROOT_UID;
  if (asServerUser) {
    const { stdout } = await run("id", ["-u", "postgres"]);
    const { stdout: gid } = await run("id", ["-g", "postgres"]);
    chownSync(dir, Number(stdout), Number(gid));
  }
  const pg = (program: string, args: string[]) =>
    asServerUser
      ? run("runuser", ["-u", "postgres", "--", join(bin, program), ...args])
      : run(join(bin, program), args);
  const data = join(dir, "data");
  await pg("initdb", ["-D", data, "-A", "trust", "-U", "postgres"]);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
  const server: PostgresServer = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async start() {
      await pg("pg_ctl", ["-D", data, "-l", join(dir, "server.log"), "-w", "-o", options, "start"]);
    },
    async stop() {
      await pg("pg_ctl", ["-D", data, "-m", "fast", "-w", "stop"]);
    },
    async destroy() {
      await server.stop().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}
