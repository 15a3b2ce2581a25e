import type { Operation } from "../context.ts";
import { createBucket, deleteBucket, getBucketLocation, headBucket, listBuckets } from "./buckets.ts";
import { copyObject } from "./copy-object.ts";
import { deleteObjects } from "./delete-objects.ts";
import { listObjects, listObjectsV2 } from "./list-objects.ts";
import {
  abortMultipartUpload,
  completeMultipartUpload,
  createMultipartUpload,
  listMultipartUploads,
  listParts,
  uploadPart,
  uploadPartCopy,
} from "./multipart.ts";
import { getObjectAttributes } from "./object-attributes.ts";
import { deleteObject, getObject, getObjectPart, headObject, headObjectPart, putObject } from "./objects.ts";

/** The S3 operations of the core store; extensions add theirs beside these. */
export const CORE_OPERATIONS: readonly Operation[] = [
  listBuckets,
  createBucket,
  headBucket,
  deleteBucket,
  getBucketLocation,
  listObjects,
  listObjectsV2,
  listMultipartUploads,
  deleteObjects,
  putObject,
  copyObject,
  getObject,
  getObjectPart,
  getObjectAttributes,
  headObject,
  headObjectPart,
  deleteObject,
  createMultipartUpload,
  uploadPart,
  uploadPartCopy,
  completeMultipartUpload,
  abortMultipartUpload,
  listParts,
];
