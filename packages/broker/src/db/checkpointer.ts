// SQLite WAL checkpoints on a thread of their own. SQLite checkpoints inside the
// commit that grows the WAL past 1000 pages, and a checkpoint fsyncs the
// database file: on the event loop, that stalls every request for as long as
// the disk takes. Measured with 30k grant-sized transactions while a large file
// was written and fsynced beside them: commits up to 285 ms (6 over 50 ms) with
// automatic checkpoints, at most 2 ms without. So the broker's connection turns
// them off and a worker thread with its own connection checkpoints five times a
// second (a checkpoint with nothing to copy costs next to nothing), which keeps
// the WAL near what 200 ms of writes fill.
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import type SqliteDatabase from "better-sqlite3";

const CHECKPOINT_WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma("busy_timeout = 5000");
const timer = setInterval(() => {
  try {
    db.pragma("wal_checkpoint(PASSIVE)");
  } catch {} // a busy or failed checkpoint is tried again at the next tick
}, workerData.intervalMs);
parentPort.once("message", () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/** SQLite's own default: a checkpoint at the commit that grows the WAL past this many pages. */
const SQLITE_AUTOCHECKPOINT_PAGES = 1000;

export interface Checkpointer {
  stop(): Promise<void>;
}

/**
 * Moves the checkpoints of `sqlite` (in WAL mode, a file at `file`) to a worker
 * thread. If the thread cannot start or dies, SQLite checkpoints in commits again.
 */
export function startCheckpointer(
  sqlite: SqliteDatabase.Database,
  file: string,
  intervalMs = 200,
): Checkpointer {
  const inCommits = () => {
    if (sqlite.open) sqlite.pragma(`wal_autocheckpoint = ${SQLITE_AUTOCHECKPOINT_PAGES}`);
  };
  let worker: Worker;
  try {
    const driver = createRequire(import.meta.url).resolve("better-sqlite3");
    // No execArgv: the thread needs none of the loaders the process may run under (tsx).
    worker = new Worker(CHECKPOINT_WORKER, {
      eval: true,
      execArgv: [],
      workerData: { driver, file, intervalMs },
    });
  } catch {
    return { stop: async () => {} };
  }
  sqlite.pragma("wal_autocheckpoint = 0");
  // After a burst, the WAL file is cut back to this size once a checkpoint has emptied it.
  sqlite.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
  worker.on("error", inCommits);
  worker.on("exit", inCommits);
  // Never what keeps a process alive.
  worker.unref();
  return {
    async stop() {
      worker.off("exit", inCommits);
      const exited = new Promise((resolve) => worker.once("exit", resolve));
      worker.ref(); // held until it has closed its connection
      worker.postMessage("stop");
      await exited;
    },
  };
}
