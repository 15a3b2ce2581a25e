import { readFile } from "node:fs/promises";

/** Peak resident set (VmHWM) of a process in bytes, from /proc on Linux; 0 elsewhere or once it exited. */
export async function peakRssFromProc(pid: number | "self"): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, "utf8");
    const kib = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
    return kib ? Number(kib) * 1024 : 0;
  } catch {
    return 0;
  }
}
