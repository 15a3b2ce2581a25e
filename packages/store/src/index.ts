export type {
  AuthResult,
  Operation,
  RequestTarget,
  S3Request,
  S3Response,
  StoreContext,
  StoreExtension,
} from "./context.ts";
export { type S3ErrorCode, s3Error } from "./errors.ts";
export type { ObjectCreatedEvent, ObjectRemovedEvent, StoreEvents } from "./events.ts";
export { verifyNotificationSignature } from "./notifications/signature.ts";
export type { NotificationTarget } from "./notifications/targets.ts";
export type { StoreCredentials, StoreOptions } from "./options.ts";
export { type RunningStore, startStore } from "./server.ts";
export { type RotationResult, rotateMasterKey } from "./storage/rotate.ts";
