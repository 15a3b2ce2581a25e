// GET /v1/files' query (listFiles) at scale: one user holding
// SLUICE_BENCH_FILES files (default 147k, plus a tenth as many grants that
// never became files), on SQLite and, when the tier is up, PostgreSQL. The
// whole listing is walked page by page (100 a page) with the (created_at, id)
// cursor; baseline in the same run, on the same rows: pages served without
// migration 0007's uploads_files index (dropped inside a transaction that is
// rolled back), as before it. CPU per page from /proc: this process, plus the
// PostgreSQL server's backends.
import { cpuSecondsFromProc, printGoals, printTable, treeCpuSecondsFromProc } from "@sluice/core/bench";
import { type Kysely, sql } from "kysely";
import type { Principal } from "../src/auth/principal.ts";
import { openDatabase } from "../src/db/open.ts";
import type { Database, NewUpload } from "../src/db/schema.ts";
import { type FileCursor, listFiles } from "../src/db/uploads.ts";
import { testDatabases, uploadRow } from "../src/test/databases.ts";
import { benchPostgres } from "./grants.bench.ts";

const FILES = Number(process.env.SLUICE_BENCH_FILES ?? 147_000);
const PAGE = 100;
/** Pages measured without the index: each reads and sorts all of the user's files. */
const PAGES_BEFORE = 10;
const owner: Principal = { tenant: "bench", user: "u" };

async function fill(db: Kysely<Database>): Promise<void> {
  const start = Date.now() - FILES;
  const rows: NewUpload[] = [];
  for (let i = 0; i < FILES * 1.1; i++) {
    const file = i < FILES;
    // A few files share each millisecond: the cursor must tell them apart by id.
    const at = start + Math.floor((file ? i : i - FILES) / 3);
    rows.push(
      uploadRow({
        tenant: owner.tenant,
        user_id: owner.user,
        created_at: at,
        state: file ? "ready" : "pending",
      }),
    );
  }
  // 1,000 rows (21 columns) a statement: under both databases' bound-parameter limits.
  await db.transaction().execute(async (trx) => {
    for (let i = 0; i < rows.length; i += 1_000)
      await trx
        .insertInto("uploads")
        .values(rows.slice(i, i + 1_000))
        .execute();
  });
}

interface Walk {
  pages: number;
  files: number;
  wallMs: number;
  cpuMs: number;
}

/** Lists pages from the newest on, up to `maxPages`. */
async function walk(db: Kysely<Database>, maxPages: number, serverPid?: number): Promise<Walk> {
  const cpu = async () =>
    (await cpuSecondsFromProc("self")) + (serverPid ? await treeCpuSecondsFromProc(serverPid) : 0);
  const cpuBefore = await cpu();
  const started = performance.now();
  let after: FileCursor | undefined;
  let pages = 0;
  let files = 0;
  while (pages < maxPages) {
    const page = await listFiles(db, { owner, limit: PAGE, after });
    pages++;
    files += page.length;
    if (page.length < PAGE) break;
    const last = page[page.length - 1]!;
    after = { createdAt: last.created_at, id: last.id };
  }
  return { pages, files, wallMs: performance.now() - started, cpuMs: ((await cpu()) - cpuBefore) * 1000 };
}

class RolledBack extends Error {}

/** The same pages without the uploads_files index, in a transaction rolled back afterwards. */
async function walkWithoutIndex(db: Kysely<Database>, serverPid?: number): Promise<Walk> {
  let result: Walk | undefined;
  await db
    .transaction()
    .execute(async (trx) => {
      await sql`drop index uploads_files`.execute(trx);
      result = await walk(trx, PAGES_BEFORE, serverPid);
      throw new RolledBack();
    })
    .catch((error) => {
      if (!(error instanceof RolledBack)) throw error;
    });
  return result!;
}

export default async function listingBench(): Promise<void> {
  const goals = [];
  for (const database of testDatabases()) {
    if (database.skip) {
      console.log(`(listing on ${database.name} skipped: ${database.skip})`);
      continue;
    }
    const postgres = database.name === "postgres" ? await benchPostgres() : undefined;
    const created = postgres ?? (await database.create());
    const metadata = await openDatabase(created.url);
    try {
      await fill(metadata.db);
      if (postgres) await sql`analyze uploads`.execute(metadata.db);
      await walk(metadata.db, 20); // warm-up: JIT, statement cache, pages in memory
      const serverPid = postgres?.serverPid;
      const indexed = await walk(metadata.db, Number.POSITIVE_INFINITY, serverPid);
      if (indexed.files !== FILES) throw new Error(`walked ${indexed.files} of ${FILES} files`);
      const before = await walkWithoutIndex(metadata.db, serverPid);
      const row = (name: string, w: Walk) => ({
        name,
        value: w.wallMs / w.pages,
        extra: { "CPU ms/page": (w.cpuMs / w.pages).toFixed(2), pages: w.pages.toLocaleString("en-US") },
      });
      const baseline = "without uploads_files (before)";
      printTable({
        title: `Listing on ${database.name}: ${FILES.toLocaleString("en-US")} files of one user (+ ${(FILES / 10).toLocaleString("en-US")} grants), ${PAGE} a page${serverPid ? "; CPU includes the PostgreSQL server" : ""}`,
        unit: "ms/page",
        lowerIsBetter: true,
        baseline,
        rows: [row(baseline, before), row("(created_at, id) cursor on uploads_files, every page", indexed)],
      });
      goals.push(
        {
          name: `listing on ${database.name}, wall time`,
          measured: indexed.wallMs / indexed.pages,
          goal: 5,
          unit: "ms/page",
        },
        {
          name: `listing on ${database.name}, CPU`,
          measured: indexed.cpuMs / indexed.pages,
          goal: 5,
          unit: "ms/page",
        },
      );
    } finally {
      await metadata.close();
      await created.drop();
    }
  }
  printGoals(
    "Goals (issue 14): a page of 100 in ≤ 5 ms at 100k+ files (on a loaded machine CPU is the figure to trust)",
    goals,
  );
}
