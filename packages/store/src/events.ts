import { EventEmitter } from "node:events";

/** Emitted after a commit, so a listener never sees an object that could still vanish. */
export interface ObjectCreatedEvent {
  bucket: string;
  key: string;
  size: number;
  etag: string;
  /** As in S3 event names: s3:ObjectCreated:Put, :Copy, :CompleteMultipartUpload, :Post. */
  operation: "Put" | "Copy" | "CompleteMultipartUpload" | "Post";
  requestId: string;
}

export interface ObjectRemovedEvent {
  bucket: string;
  key: string;
  /** "Delete": a DELETE request (s3:ObjectRemoved:Delete); "Expiration": a lifecycle rule (s3:LifecycleExpiration:Delete). */
  operation: "Delete" | "Expiration";
  requestId: string;
}

export type ObjectEvent = ObjectCreatedEvent | ObjectRemovedEvent;

/** The S3 event name, e.g. "ObjectCreated:Put"; lifecycle removals are "LifecycleExpiration:Delete", as in AWS. */
export function s3EventName(event: ObjectEvent): string {
  if ("size" in event) return `ObjectCreated:${event.operation}`;
  return event.operation === "Expiration" ? "LifecycleExpiration:Delete" : "ObjectRemoved:Delete";
}

interface StoreEventMap {
  objectCreated: [ObjectCreatedEvent];
  objectRemoved: [ObjectRemovedEvent];
}

/** Post-commit events: subscribe with `store.events.on("objectCreated", ...)`. */
export class StoreEvents extends EventEmitter<StoreEventMap> {}
