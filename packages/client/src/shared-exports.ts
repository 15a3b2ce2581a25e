/** Types and helpers both entries (browser and Node) export. */

export { isSluiceError, SluiceError } from "@sluice/core";

export type { Body, StreamBody } from "./body.ts";
export type {
  FileRecord,
  LinkInfo,
  PartUrl,
  ShareLink,
  StoredPart,
  UploadGrant,
  UploadMethod,
  UploadRecord,
  UploadState,
} from "./broker-api.ts";
export { BrokerApi } from "./broker-api.ts";
export type { ClientOptions, Platform, SluiceClient } from "./client.ts";
export type { InterruptedUpload } from "./interrupted.ts";
export { KeyValueResumeStore, type KeyValueStorage } from "./key-value-store.ts";
export { contentTypeFor } from "./mime.ts";
export { type PartRange, planParts } from "./part-plan.ts";
export { type ProfileInfo, profilesAccepting } from "./profiles.ts";
export { type Progress, ProgressMeter } from "./progress.ts";
export {
  type QueueItem,
  type QueueItemState,
  UploadQueue,
  type UploadQueueOptions,
} from "./queue.ts";
export {
  MemoryResumeStore,
  type ResumeRecord,
  type ResumeStore,
  type StoredResume,
} from "./resume-state.ts";
export { backoffDelay, classifyFailure, defaultRetryPolicy, type RetryPolicy } from "./retry.ts";
export type { Transport, TransportRequest, TransportResponse } from "./transport.ts";
export type { UploadOptions, UploadResult, UploadTask } from "./upload/task.ts";
