import { isSluiceError } from "@sluice/core";
import { readSmallBody } from "../body/ingest.ts";
import type { Operation } from "../context.ts";
import { s3Error } from "../errors.ts";
import { parseXml, xmlDocument } from "../xml.ts";
import { removeObject } from "./objects.ts";

const MAX_KEYS = 1000;

export const deleteObjects: Operation = {
  name: "DeleteObjects",
  method: "POST",
  target: "bucket",
  subresources: ["delete"],
  async handle(request, store) {
    store.catalog.requireBucket(request.bucket as string);
    const document = parseXml(await readSmallBody(request, 2 * 1024 * 1024), "Delete");
    const objects = document.Object;
    if (!Array.isArray(objects) || objects.length === 0 || objects.length > MAX_KEYS)
      throw s3Error("MalformedXML");
    const keys = objects.map((object) => {
      const key = (object as { Key?: unknown }).Key;
      if (typeof key !== "string" || key === "" || Buffer.byteLength(key) > 1024)
        throw s3Error("MalformedXML");
      return key;
    });
    const quiet = String(document.Quiet ?? "false").toLowerCase() === "true";
    const deleted: Array<{ Key: string }> = [];
    const errors: Array<{ Key: string; Code: string; Message: string }> = [];
    for (const key of keys) {
      try {
        removeObject({ store, request, key });
        if (!quiet) deleted.push({ Key: key });
      } catch (error) {
        errors.push({
          Key: key,
          Code: isSluiceError(error) ? error.code : "InternalError",
          Message: "We encountered an internal error.",
        });
      }
    }
    return {
      status: 200,
      headers: { "content-type": "application/xml" },
      body: xmlDocument("DeleteResult", { Deleted: deleted, Error: errors }),
    };
  },
};
