export { type BenchRow, opsPerSecond, printTable } from "./table.ts";
