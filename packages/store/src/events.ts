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
  operation: "Delete";
  requestId: string;
}

interface StoreEventMap {
  objectCreated: [ObjectCreatedEvent];
  objectRemoved: [ObjectRemovedEvent];
}

/** The hook for notifications and lifecycle: subscribe with `store.events.on("objectCreated", ...)`. */
export class StoreEvents extends EventEmitter<StoreEventMap> {}
