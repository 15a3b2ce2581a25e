/**
 * Where the CLI finds the broker and its token, first match wins:
 * --url/--token flags, SLUICE_URL/SLUICE_TOKEN, the login file
 * ($SLUICE_HOME/config.json, default ~/.sluice), then the session a local
 * `sluice serve` leaves in its data directory ($SLUICE_DATA_DIR or ./.sluice).
 */
import { chmod, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { SluiceError } from "@sluice/core";

export interface Credentials {
  url: string;
  token: string;
  /** Where they came from, for `sluice token` and error messages. */
  source: string;
}

export const SESSION_FILE = "session.json";

export function sluiceHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.SLUICE_HOME || join(homedir(), ".sluice");
}

export function configFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(sluiceHome(env), "config.json");
}

/** Resume state of unfinished uploads. */
export function uploadStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(sluiceHome(env), "uploads");
}

async function readJson(path: string): Promise<{ url?: unknown; token?: unknown } | undefined> {
  try {
    return JSON.parse(await readFile(path, "utf8"));
  } catch {
    return undefined;
  }
}

export async function resolveCredentials(
  flags: { url?: string; token?: string },
  env: NodeJS.ProcessEnv = process.env,
): Promise<Credentials> {
  const saved = await readJson(configFile(env));
  const sessionPath = join(resolve(env.SLUICE_DATA_DIR || ".sluice"), SESSION_FILE);
  const session = await readJson(sessionPath);
  const candidates: Array<[unknown, unknown, string]> = [
    [flags.url, flags.token, "command-line flags"],
    [env.SLUICE_URL, env.SLUICE_TOKEN, "SLUICE_URL/SLUICE_TOKEN"],
    [saved?.url, saved?.token, configFile(env)],
    [session?.url, session?.token, sessionPath],
  ];
  const url = candidates.find(([u]) => typeof u === "string" && u);
  const token = candidates.find(([, t]) => typeof t === "string" && t);
  if (!url || !token) {
    throw new SluiceError({
      code: "NotLoggedIn",
      status: 401,
      message:
        "No broker configured: run `sluice login --url URL --token TOKEN`, set SLUICE_URL and SLUICE_TOKEN, " +
        "or start `sluice serve` in this directory",
    });
  }
  const source = url[2] === token[2] ? url[2] : `${url[2]} + ${token[2]}`;
  return { url: url[0] as string, token: token[1] as string, source };
}

export async function saveLogin(login: { url: string; token: string }, env = process.env): Promise<string> {
  await mkdir(sluiceHome(env), { recursive: true, mode: 0o700 });
  const path = configFile(env);
  await writeFile(path, `${JSON.stringify({ url: login.url, token: login.token }, null, 2)}\n`, {
    mode: 0o600,
  });
  await chmod(path, 0o600);
  return path;
}

export async function forgetLogin(env = process.env): Promise<void> {
  await rm(configFile(env), { force: true });
}

/** A token shown without its secret part. */
export function maskToken(token: string): string {
  return token.length <= 12 ? "****" : `${token.slice(0, 4)}…${token.slice(-4)}`;
}
