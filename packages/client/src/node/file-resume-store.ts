/** Resume records as small JSON files (one per fingerprint), written atomically with mode 0600. */
import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { isResumeRecord, type ResumeRecord, type ResumeStore, type StoredResume } from "../resume-state.ts";

export class FileResumeStore implements ResumeStore {
  /** Writes are serialized: parallel parts finish together and share one temporary file name. */
  private writes: Promise<unknown> = Promise.resolve();

  constructor(private readonly dir: string) {}

  private path(fingerprint: string): string {
    if (!/^[0-9a-f]+$/.test(fingerprint)) throw new RangeError("fingerprint must be hex");
    return join(this.dir, `${fingerprint}.json`);
  }

  async get(fingerprint: string): Promise<ResumeRecord | undefined> {
    const path = this.path(fingerprint);
    // Missing or unreadable (say, truncated by a crash): start over.
    return parseRecord(await readFile(path, "utf8").catch(() => ""));
  }

  /** Every record in the directory; unreadable ones (corrupt, wrong shape) are removed. */
  async list(): Promise<StoredResume[]> {
    await this.writes;
    const names = await readdir(this.dir).catch(() => []);
    const fingerprints = names.flatMap((name) => /^([0-9a-f]+)\.json$/.exec(name)?.[1] ?? []);
    const listed: StoredResume[] = [];
    for (const fingerprint of fingerprints) {
      const text = await readFile(this.path(fingerprint), "utf8").catch(() => undefined);
      // Gone meanwhile: another process finished that upload.
      if (text === undefined) continue;
      const record = parseRecord(text);
      if (record) listed.push({ fingerprint, record });
      else await rm(this.path(fingerprint), { force: true });
    }
    return listed;
  }

  set(fingerprint: string, record: ResumeRecord): Promise<void> {
    const write = this.writes.then(() => this.write(fingerprint, record));
    this.writes = write.catch(() => {});
    return write;
  }

  private async write(fingerprint: string, record: ResumeRecord): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const path = this.path(fingerprint);
    // Unique per write: several processes (or stores) may save the same upload.
    const temporary = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
    await writeFile(temporary, JSON.stringify(record), { mode: 0o600 });
    await rename(temporary, path);
  }

  async delete(fingerprint: string): Promise<void> {
    await this.writes;
    await rm(this.path(fingerprint), { force: true });
    await this.removeOrphans(fingerprint);
  }

  /** Temporary files of `fingerprint` whose writer died between write and rename (a SIGKILL). */
  private async removeOrphans(fingerprint: string): Promise<void> {
    const prefix = `${fingerprint}.json.`;
    for (const name of await readdir(this.dir).catch(() => [])) {
      const pid = name.startsWith(prefix)
        ? /^(\d+)\.[0-9a-f]+\.tmp$/.exec(name.slice(prefix.length))?.[1]
        : undefined;
      if (pid && !writing(Number(pid))) await rm(join(this.dir, name), { force: true });
    }
  }
}

/** Whether process `pid` may still be writing: this process's writes are all done when it asks. */
function writing(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"; // alive, another user's
  }
}

function parseRecord(text: string): ResumeRecord | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return isResumeRecord(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}
