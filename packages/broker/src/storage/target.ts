// Where the broker's grants point: the (public) endpoint, bucket, region and
// signing credentials, taken from the configuration once.
import { errors, SluiceError } from "@sluice/core";
import type { Credentials } from "@sluice/sigv4";
import { objectUrl } from "@sluice/sigv4";
import { envVarFor } from "../config/load.ts";
import type { BrokerConfig } from "../config/schema.ts";

export interface StorageTarget {
  /** Endpoint the broker itself calls. */
  endpoint: string;
  /** Endpoint put into presigned URLs (what clients reach). */
  publicEndpoint: string;
  bucket: string;
  region: string;
  forcePathStyle: boolean;
  credentials: Credentials;
  capabilities: BrokerConfig["storage"]["capabilities"];
}

export function storageTarget(config: BrokerConfig): StorageTarget {
  const { storage } = config;
  if (!storage.endpoint || !storage.accessKeyId || !storage.secretAccessKey) {
    const missing = (["endpoint", "accessKeyId", "secretAccessKey"] as const)
      .filter((field) => !storage[field])
      .map((field) => `storage.${field} (${envVarFor(`storage.${field}`)})`);
    throw new SluiceError({
      code: "InvalidConfig",
      status: 500,
      message: `Storage is not fully configured: set ${missing.join(", ")}${storage.endpoint ? ` for ${storage.endpoint} (or leave storage.endpoint out: \`sluice serve\` then runs the embedded store)` : ""}`,
    });
  }
  return {
    endpoint: storage.endpoint,
    publicEndpoint: storage.publicEndpoint ?? storage.endpoint,
    bucket: storage.bucket,
    region: storage.region,
    forcePathStyle: storage.forcePathStyle,
    credentials: {
      accessKeyId: storage.accessKeyId,
      secretAccessKey: storage.secretAccessKey,
      ...(storage.sessionToken ? { sessionToken: storage.sessionToken } : {}),
    },
    capabilities: storage.capabilities,
  };
}

/** Public URL of an object (or of the bucket when key is omitted), for presigning. */
export function publicObjectUrl(target: StorageTarget, key?: string): string {
  return objectUrl({
    endpoint: target.publicEndpoint,
    bucket: target.bucket,
    key,
    forcePathStyle: target.forcePathStyle,
  });
}

/** Storage failures reach clients as 502 without the storage's own message. */
export function storageError(error: unknown): SluiceError {
  if (error instanceof SluiceError) return error;
  return new SluiceError({
    code: "StorageError",
    status: 502,
    message: "Storage request failed",
    cause: error,
  });
}

export const notUploaded = () => errors.conflict("The object has not been uploaded yet", "NotUploaded");
