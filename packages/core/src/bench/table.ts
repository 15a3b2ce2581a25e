/** One measured candidate in a benchmark table. */
export interface BenchRow {
  name: string;
  /** The figure the ratio is taken on (higher is better unless `lowerIsBetter`). */
  value: number;
  /** Further columns, already formatted. */
  extra?: Record<string, string>;
}

/**
 * Prints a benchmark as a table with each row's ratio against the named
 * baseline, measured in the same run.
 */
export function printTable(options: {
  title: string;
  unit: string;
  baseline: string;
  rows: BenchRow[];
  lowerIsBetter?: boolean;
}): void {
  const base = options.rows.find((row) => row.name === options.baseline);
  if (!base) throw new Error(`baseline ${options.baseline} is not among the rows`);
  const extraColumns = [...new Set(options.rows.flatMap((row) => Object.keys(row.extra ?? {})))];
  const header = ["candidate", options.unit, `vs ${options.baseline}`, ...extraColumns];
  const lines = options.rows.map((row) => {
    const ratio = options.lowerIsBetter ? base.value / row.value : row.value / base.value;
    return [
      row.name,
      formatNumber(row.value),
      `${ratio.toFixed(2)}x`,
      ...extraColumns.map((column) => row.extra?.[column] ?? ""),
    ];
  });
  const widths = header.map((cell, i) => Math.max(cell.length, ...lines.map((line) => line[i]!.length)));
  const render = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(" | ")} |`;
  console.log(`\n${options.title}`);
  console.log(render(header));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const line of lines) console.log(render(line));
}

function formatNumber(value: number): string {
  if (value >= 100) return Math.round(value).toLocaleString("en-US");
  return value.toFixed(2);
}

/** Runs `fn` repeatedly for about `ms` milliseconds; returns operations per second. */
export async function opsPerSecond(fn: () => unknown, ms = 1000): Promise<number> {
  for (let i = 0; i < 200; i++) await fn(); // warm-up
  let count = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    for (let i = 0; i < 100; i++) await fn();
    count += 100;
    elapsed = performance.now() - start;
  }
  return (count * 1000) / elapsed;
}

/** A goal (of an issue) checked against the figure a benchmark measured. */
export interface BenchGoal {
  name: string;
  measured: number;
  goal: number;
  unit: string;
  /** The measured figure must reach the goal (default: stay at or below it). */
  atLeast?: boolean;
}

/** Prints each goal as met or missed, with the measured figure beside it. */
export function printGoals(title: string, goals: BenchGoal[]): void {
  console.log(`\n${title}`);
  for (const goal of goals) {
    const met = goal.atLeast ? goal.measured >= goal.goal : goal.measured <= goal.goal;
    const bound = `${goal.atLeast ? "≥" : "≤"} ${formatNumber(goal.goal)} ${goal.unit}`;
    console.log(
      `  ${met ? "met   " : "MISSED"}  ${goal.name}: ${formatNumber(goal.measured)} ${goal.unit} (goal ${bound})`,
    );
  }
}
