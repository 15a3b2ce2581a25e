import { readdir, readFile } from "node:fs/promises";

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ: 100 on every Linux we run on). */
const TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) a process has used so far, from /proc on Linux; 0 elsewhere. */
export async function cpuSecondsFromProc(pid: number | "self"): Promise<number> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    // Fields after the parenthesised command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** The parent of a process (a PostgreSQL backend's postmaster), or undefined when it is not on this machine. */
export async function parentPidFromProc(pid: number): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds a process and its children have used so far: its own, the
 * children it has reaped, and the live ones (a PostgreSQL server's backends,
 * which are children of the postmaster). 0 off Linux.
 */
export async function treeCpuSecondsFromProc(pid: number): Promise<number> {
  const fieldsOf = async (of: number | string) => {
    try {
      const stat = await readFile(`/proc/${of}/stat`, "utf8");
      return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    } catch {
      return undefined; // ended meanwhile
    }
  };
  const own = await fieldsOf(pid);
  if (!own) return 0;
  // utime, stime, cutime, cstime are fields 14-17; ppid is field 4.
  let ticks = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]);
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const child = await fieldsOf(entry);
    if (child && Number(child[1]) === pid) ticks += Number(child[11]) + Number(child[12]);
  }
  return ticks / TICKS_PER_SECOND;
}
