/**
 * The embedded store as `sluice serve` and `sluice store` run it: data under
 * DATA/store, access keys generated once into DATA/store-credentials.json
 * (mode 0600) and reused on every start.
 */
import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { SluiceError } from "@sluice/core";
import type { NotificationTarget, StoreCredentials } from "@sluice/store";

export const CREDENTIALS_FILE = "store-credentials.json";

export async function storeCredentials(dataDir: string): Promise<StoreCredentials> {
  const path = join(dataDir, CREDENTIALS_FILE);
  try {
    const saved = JSON.parse(await readFile(path, "utf8")) as Partial<StoreCredentials>;
    if (saved.accessKeyId && saved.secretAccessKey) {
      return { accessKeyId: saved.accessKeyId, secretAccessKey: saved.secretAccessKey };
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
      throw new SluiceError({
        code: "InvalidCredentialsFile",
        status: 500,
        message: `${path} is unreadable or not JSON: fix it, or delete it to generate new store credentials`,
      });
    }
  }
  const credentials = {
    accessKeyId: `SLUICE${randomBytes(7).toString("hex").toUpperCase()}`,
    secretAccessKey: randomBytes(30).toString("base64url"),
  };
  await writeFile(path, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600, flag: "wx" });
  await chmod(path, 0o600);
  return credentials;
}

export async function startEmbeddedStore(options: {
  dataDir: string;
  host: string;
  port: number;
  region?: string;
  minFreeBytes?: number;
  /** Webhooks bucket notification configurations may name (`sluice serve`: the broker's /v1/events/s3). */
  notificationTargets?: NotificationTarget[];
  /** Accept Signature Version 2 (`--allow-sigv2`, config store.allowSignatureV2). */
  allowSignatureV2?: boolean;
}) {
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  const credentials = await storeCredentials(options.dataDir);
  const { startStore } = await import("@sluice/store");
  const store = await startStore({
    dataDir: storeDataDir(options.dataDir),
    host: options.host,
    port: options.port,
    ...(options.region ? { region: options.region } : {}),
    ...(options.minFreeBytes !== undefined ? { minFreeBytes: options.minFreeBytes } : {}),
    credentials: [credentials],
    ...(options.notificationTargets ? { notificationTargets: options.notificationTargets } : {}),
    allowSignatureV2: options.allowSignatureV2 ?? false,
  }).catch((error: NodeJS.ErrnoException) => {
    throw listenError(error, "store", options.port, "--store-port");
  });
  return { store, credentials };
}

/** EADDRINUSE and friends as an error that names the flag to change. */
export function listenError(error: NodeJS.ErrnoException, what: string, port: number, flag: string): unknown {
  if (error.code === "EADDRINUSE") {
    return new SluiceError({
      code: "PortInUse",
      status: 409,
      message: `Port ${port} for the ${what} is already in use: stop what runs there, or pass ${flag} N (0 picks a free port)`,
    });
  }
  if (error.code === "EACCES") {
    return new SluiceError({
      code: "PortNotAllowed",
      status: 403,
      message: `Not allowed to listen on port ${port} for the ${what}: pass ${flag} with a port above 1023`,
    });
  }
  return error;
}

/** Where the embedded store keeps its catalog, blobs and master keys, under `--data`. */
export function storeDataDir(dataDir: string): string {
  return join(dataDir, "store");
}
