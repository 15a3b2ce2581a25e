/** Several `sluice serve` processes on one configuration: a scale-out deployment (shared database, storage). */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type Serve, startServe } from "./cli.ts";

/** The job worker id of broker `index` of startBrokers (jobs.workerId). */
export const brokerWorkerId = (index: number) => `broker-${index}`;

/**
 * Starts `count` brokers one after the other (the first creates the bucket and
 * migrates the database), each with its own data directory under `root` and
 * its own job worker id, as the configuration reference asks.
 */
export async function startBrokers(options: {
  root: string;
  config: Record<string, unknown>;
  count: number;
}): Promise<Serve[]> {
  const { root, config } = options;
  const jobs = (config.jobs ?? {}) as Record<string, unknown>;
  const brokers: Serve[] = [];
  for (let i = 0; i < options.count; i++) {
    const file = join(root, `sluice-${i}.json`);
    await writeFile(file, JSON.stringify({ ...config, jobs: { ...jobs, workerId: brokerWorkerId(i) } }));
    brokers.push(
      await startServe(["--config", file, "--port", "0", "--data", join(root, `broker-${i}`)], {
        cwd: root,
        env: { HOME: root },
      }),
    );
  }
  return brokers;
}
