export { cpuSecondsFromProc } from "./cpu.ts";
export { peakRssFromProc } from "./peak-rss.ts";
export { type BenchRow, opsPerSecond, printTable } from "./table.ts";
