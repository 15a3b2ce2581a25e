import type { SluiceError } from "@sluice/core";
import { readSmallBody } from "./body/ingest.ts";
import type { Operation } from "./context.ts";
import type { SettingName } from "./storage/settings.ts";

/**
 * The Put/Get/Delete operations of a bucket configuration kept in the bucket
 * settings (?cors, ?lifecycle): parsed and validated on Put, rendered as XML on
 * Get (404 with the sub-resource's own code when there is none), removed on Delete.
 */
export function bucketSettingOperations<T>(options: {
  subresource: SettingName & ("cors" | "lifecycle");
  names: { put: string; get: string; delete: string };
  maxBodyBytes: number;
  parse: (xml: string) => T;
  /** The XML document Get answers. */
  render: (value: T) => string;
  /** The error Get answers when the bucket has no such configuration. */
  missing: () => SluiceError;
}): Operation[] {
  const { subresource } = options;
  const base = { target: "bucket" as const, subresources: [subresource] };
  return [
    {
      ...base,
      name: options.names.put,
      method: "PUT",
      async handle(request, store) {
        store.catalog.requireBucket(request.bucket as string);
        const value = options.parse(await readSmallBody(request, options.maxBodyBytes));
        store.settings.set(request.bucket as string, subresource, value);
        return { status: 200 };
      },
    },
    {
      ...base,
      name: options.names.get,
      method: "GET",
      async handle(request, store) {
        store.catalog.requireBucket(request.bucket as string);
        const value = store.settings.get<T>(request.bucket as string, subresource);
        if (value === undefined) throw options.missing();
        return { status: 200, headers: { "content-type": "application/xml" }, body: options.render(value) };
      },
    },
    {
      ...base,
      name: options.names.delete,
      method: "DELETE",
      async handle(request, store) {
        store.catalog.requireBucket(request.bucket as string);
        store.settings.delete(request.bucket as string, subresource);
        return { status: 204 };
      },
    },
  ];
}
