import { assertValidBucketName } from "../addressing.ts";
import { readSmallBody } from "../body/ingest.ts";
import type { Operation } from "../context.ts";
import { s3Error } from "../errors.ts";
import { parseXml, xmlDocument } from "../xml.ts";

const XML = { "content-type": "application/xml" };

export const listBuckets: Operation = {
  name: "ListBuckets",
  method: "GET",
  target: "service",
  async handle(request, store) {
    const owner = { ID: request.auth.kind === "anonymous" ? "anonymous" : "sluice", DisplayName: "sluice" };
    const buckets = store.catalog
      .listBuckets()
      .map((bucket) => ({ Name: bucket.name, CreationDate: new Date(bucket.created).toISOString() }));
    return {
      status: 200,
      headers: XML,
      body: xmlDocument("ListAllMyBucketsResult", { Owner: owner, Buckets: { Bucket: buckets } }),
    };
  },
};

export const createBucket: Operation = {
  name: "CreateBucket",
  method: "PUT",
  target: "bucket",
  async handle(request, store) {
    const bucket = request.bucket as string;
    assertValidBucketName(bucket);
    const body = await readSmallBody(request, 64 * 1024);
    if (body.trim() !== "") {
      const config = parseXml(body, "CreateBucketConfiguration");
      const location = config.LocationConstraint;
      if (location !== undefined && location !== "" && location !== store.options.region) {
        throw s3Error(
          "InvalidArgument",
          `The ${String(location)} location constraint is incompatible with the region of this endpoint.`,
        );
      }
    }
    store.catalog.createBucket(bucket, Date.now());
    return { status: 200, headers: { location: `/${bucket}` } };
  },
};

export const headBucket: Operation = {
  name: "HeadBucket",
  method: "HEAD",
  target: "bucket",
  async handle(request, store) {
    store.catalog.requireBucket(request.bucket as string);
    return { status: 200, headers: { "x-amz-bucket-region": store.options.region } };
  },
};

export const deleteBucket: Operation = {
  name: "DeleteBucket",
  method: "DELETE",
  target: "bucket",
  async handle(request, store) {
    store.blobs.retire(store.catalog.deleteBucket(request.bucket as string));
    return { status: 204 };
  },
};

export const getBucketLocation: Operation = {
  name: "GetBucketLocation",
  method: "GET",
  target: "bucket",
  subresources: ["location"],
  async handle(request, store) {
    store.catalog.requireBucket(request.bucket as string);
    const region = store.options.region === "us-east-1" ? "" : store.options.region;
    return {
      status: 200,
      headers: XML,
      body: `<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${region}</LocationConstraint>`,
    };
  },
};
