/**
 * `@sluice/client/react`: the upload queue as a React hook. React is a peer
 * dependency of this entry only; the SDK itself does not need it.
 *
 *   const { items, upload, pause, resume, cancel, restoreInterrupted } = useUpload(client, { profile: "avatar" });
 *   useEffect(() => void restoreInterrupted(), [restoreInterrupted]); // uploads an earlier page left paused
 *   <input type="file" multiple onChange={(e) => upload(e.target.files!)} />
 */
import { useMemo, useSyncExternalStore } from "react";
import type { SluiceClient } from "./client.ts";
import { type QueueItem, UploadQueue, type UploadQueueOptions } from "./queue.ts";
import type { UploadOptions } from "./upload/task.ts";

export type { QueueItem, QueueItemState, UploadQueueOptions } from "./queue.ts";

export interface UseUpload {
  items: readonly QueueItem[];
  upload(files: Iterable<Blob & { name?: string }>, options?: Partial<UploadOptions>): string[];
  pause(key: string): void;
  resume(key: string): void;
  cancel(key: string): void;
  remove(key: string): void;
  /**
   * Adds the uploads an earlier page left unfinished as paused items with
   * `needsFile`; choosing the same file again (`upload`) continues each one.
   */
  restoreInterrupted(): Promise<void>;
}

/** One queue per client and profile; the component re-renders on every progress change (throttled by the SDK). */
export function useUpload(client: SluiceClient, options: UploadQueueOptions): UseUpload {
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new queue only for another client or profile
  const queue = useMemo(() => new UploadQueue(client, options), [client, options.profile]);
  const items = useSyncExternalStore(queue.subscribe, queue.getSnapshot, queue.getSnapshot);
  return useMemo(
    () => ({
      items,
      upload: (files, uploadOptions) => queue.add(files, uploadOptions),
      pause: (key) => queue.pause(key),
      resume: (key) => queue.resume(key),
      cancel: (key) => queue.cancel(key),
      remove: (key) => queue.remove(key),
      restoreInterrupted: () => queue.restoreInterrupted(),
    }),
    [queue, items],
  );
}
