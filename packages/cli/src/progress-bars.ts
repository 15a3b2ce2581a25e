/** One progress bar per file plus a total, on stderr, only when it is a terminal. */
import type { Progress } from "@sluice/client";
import cliProgress from "cli-progress";
import { formatBytes, formatSeconds } from "./format.ts";

export interface Bars {
  add(name: string, total: number): (progress: Progress) => void;
  stop(): void;
}

export function createBars(options: { enabled: boolean; stream?: NodeJS.WritableStream }): Bars {
  if (!options.enabled) return { add: () => () => {}, stop: () => {} };
  const multi = new cliProgress.MultiBar(
    {
      stream: options.stream ?? process.stderr,
      hideCursor: true,
      clearOnComplete: false,
      format: "{name} |{bar}| {percentage}% {done}/{size} {speed}/s ETA {eta_text}",
      autopadding: true,
    },
    cliProgress.Presets.shades_classic,
  );
  const files = new Map<string, { done: number; total: number; speed: number }>();
  let total: cliProgress.SingleBar | undefined;
  const refreshTotal = () => {
    let done = 0;
    let size = 0;
    let speed = 0;
    for (const file of files.values()) {
      done += file.done;
      size += file.total;
      speed += file.speed;
    }
    total?.setTotal(size);
    total?.update(done, payload("total", done, size, speed));
  };
  return {
    add(name, size) {
      const key = `${files.size}:${name}`;
      files.set(key, { done: 0, total: size, speed: 0 });
      const bar = multi.create(size, 0, payload(name, 0, size, 0));
      if (files.size > 1) {
        // The total stays the last line: re-created below each new file bar.
        if (total) multi.remove(total);
        total = multi.create(size, 0, payload("total", 0, size, 0));
        refreshTotal();
      }
      return (progress) => {
        files.set(key, { done: progress.bytesSent, total: progress.total, speed: progress.speed });
        bar.update(progress.bytesSent, {
          ...payload(name, progress.bytesSent, progress.total, progress.speed),
          eta_text: formatSeconds(progress.eta),
        });
        refreshTotal();
      };
    },
    stop: () => multi.stop(),
  };
}

function payload(name: string, done: number, size: number, speed: number) {
  return {
    name: name.length > 24 ? `…${name.slice(-23)}` : name,
    done: formatBytes(done),
    size: formatBytes(size),
    speed: formatBytes(speed),
    eta_text: "--",
  };
}
