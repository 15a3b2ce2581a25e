/**
 * File arguments: plain paths, or patterns with *, ? and ** for shells that
 * did not expand them (Windows, quoted arguments). Node 20 has no fs.glob.
 */
import { readdir, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { usageError } from "./exit-codes.ts";

const MAGIC = /[*?[]/;

export async function expandFiles(patterns: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const pattern of patterns) {
    if (!MAGIC.test(pattern)) {
      files.push(pattern);
      continue;
    }
    const matched = await expandPattern(pattern);
    if (matched.length === 0) throw usageError(`No file matches ${pattern}`);
    files.push(...matched);
  }
  return [...new Set(files)];
}

async function expandPattern(pattern: string): Promise<string[]> {
  const segments = pattern.split(/[\\/]/);
  const firstMagic = segments.findIndex((segment) => MAGIC.test(segment));
  const base = segments.slice(0, firstMagic).join(sep) || ".";
  const matcher = toRegExp(segments.slice(firstMagic).join("/"));
  const found: string[] = [];
  for await (const path of walk(base)) {
    if (matcher.test(relative(base, path).split(sep).join("/"))) found.push(path);
  }
  return found.sort();
}

async function* walk(dir: string): AsyncIterable<string> {
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else if (
      entry.isFile() ||
      (entry.isSymbolicLink() && (await stat(path).catch(() => undefined))?.isFile())
    ) {
      yield path;
    }
  }
}

export function toRegExp(glob: string): RegExp {
  let source = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*" && glob[i + 1] === "*") {
      source += glob[i + 2] === "/" ? "(?:.*/)?" : ".*";
      i += glob[i + 2] === "/" ? 2 : 1;
    } else if (c === "*") source += "[^/]*";
    else if (c === "?") source += "[^/]";
    else if (c === "[") {
      const end = glob.indexOf("]", i);
      if (end < 0) source += "\\[";
      else {
        source += `[${glob
          .slice(i + 1, end)
          .replace(/^!/, "^")
          .replace(/\\/g, "\\\\")}]`;
        i = end;
      }
    } else source += c.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  return new RegExp(`^${source}$`);
}
