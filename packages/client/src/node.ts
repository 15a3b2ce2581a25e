/**
 * Node entry of @sluice/client (selected by the "node" export condition):
 * file paths and Readables as input, node:http transport, resume state in
 * files, downloads to disk with Range resume.
 */
import { createHash } from "node:crypto";
import { homedir } from "node:os";
import { join } from "node:path";
import { type ClientOptions, createClientWith, type SluiceClient } from "./client.ts";
import { FileResumeStore } from "./node/file-resume-store.ts";
import { createNodeTransport } from "./node/http-transport.ts";
import { nodeSource } from "./node/sources.ts";

export {
  type DownloadFileOptions,
  type DownloadFileResult,
  downloadStream,
  downloadToFile,
} from "./node/download-file.ts";
export { FileResumeStore } from "./node/file-resume-store.ts";
export { createNodeTransport, type NodeTransport } from "./node/http-transport.ts";
export * from "./shared-exports.ts";

export interface NodeClientOptions extends ClientOptions {
  /** Directory for resume state files (default ~/.sluice/uploads). Ignored when resumeStore is given. */
  stateDir?: string;
}

export function createClient(options: NodeClientOptions): SluiceClient {
  return createClientWith(
    {
      transport: options.transport ?? createNodeTransport(),
      defaultConcurrency: 4,
      resumeStore: new FileResumeStore(options.stateDir ?? join(homedir(), ".sluice", "uploads")),
      toSource: nodeSource,
      sha256: () => {
        const hash = createHash("sha256");
        return {
          update: (bytes) => void hash.update(bytes),
          digest: async () => hash.digest(),
        };
      },
    },
    options,
  );
}
