import { aclExtension } from "./acl.ts";
import type { StoreExtension } from "./context.ts";
import { corsExtension } from "./cors.ts";
import { lifecycleExtension } from "./lifecycle.ts";
import { notificationsExtension } from "./notifications/index.ts";
import { postObjectExtension } from "./ops/post-object.ts";
import { sigV2Extension } from "./sigv2-auth.ts";

/** A created or deleted bucket starts without settings, so a re-created bucket inherits none. */
const freshBucketSettings: StoreExtension = {
  completed({ request, operation }, store) {
    if (operation.name === "CreateBucket" || operation.name === "DeleteBucket")
      store.settings.clear(request.bucket as string);
  },
};

/**
 * The features beyond the S3 core, each in its own file, new instances per
 * store (the sweeper and the outbox hold timers). Order matters: a CORS
 * preflight is answered before anything else, and bucket settings are reset
 * before a new bucket gets its ACL.
 */
export function builtinExtensions(): StoreExtension[] {
  return [
    freshBucketSettings,
    corsExtension(),
    postObjectExtension(),
    aclExtension(),
    sigV2Extension(),
    lifecycleExtension(),
    notificationsExtension(),
  ];
}
