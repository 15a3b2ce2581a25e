export { cpuSecondsFromProc, parentPidFromProc, treeCpuSecondsFromProc } from "./cpu.ts";
export { peakRssFromProc } from "./peak-rss.ts";
export { type BenchGoal, type BenchRow, opsPerSecond, printGoals, printTable } from "./table.ts";
