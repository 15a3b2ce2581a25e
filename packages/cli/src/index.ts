export { EXIT, exitCodeFor } from "./exit-codes.ts";
export { buildProgram, run } from "./program.ts";
