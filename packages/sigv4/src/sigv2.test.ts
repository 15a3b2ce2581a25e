import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isSluiceError } from "@sluice/core";
import { signV2, stringToSignV2, verifyRequestV2 } from "./sigv2.ts";

// The examples of the S3 developer guide, "Signing and authenticating REST requests" (Signature
// Version 2), as published with the johnsmith bucket: each request, the StringToSign AWS gives and
// the signature under AWS's example secret.
const KEY = "AKIAIOSFODNN7EXAMPLE";
const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

interface Example {
  name: string;
  method: string;
  headers: Record<string, string>;
  query?: Array<[string, string]>;
  resourcePath: string;
  stringToSign: string;
  signature: string;
}

const EXAMPLES: Example[] = [
  {
    name: "Object GET (virtual-hosted: the bucket prepended)",
    method: "GET",
    headers: { date: "Tue, 27 Mar 2007 19:36:42 +0000" },
    resourcePath: "/johnsmith/photos/puppy.jpg",
    stringToSign: "GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/johnsmith/photos/puppy.jpg",
    signature: "bWq2s1WEIj+Ydj0vQ697zp+IXMU=",
  },
  {
    name: "Object PUT (Content-Type signed, no Content-MD5)",
    method: "PUT",
    headers: {
      "content-type": "image/jpeg",
      "content-length": "94328",
      date: "Tue, 27 Mar 2007 21:15:45 +0000",
    },
    resourcePath: "/johnsmith/photos/puppy.jpg",
    stringToSign: "PUT\n\nimage/jpeg\nTue, 27 Mar 2007 21:15:45 +0000\n/johnsmith/photos/puppy.jpg",
    signature: "MyyxeRY7whkBe+bq8fHCL/2kKUg=",
  },
  {
    name: "List (query parameters that are not sub-resources are left out)",
    method: "GET",
    headers: { "user-agent": "Mozilla/5.0", date: "Tue, 27 Mar 2007 19:42:41 +0000" },
    query: [
      ["prefix", "photos"],
      ["max-keys", "50"],
      ["marker", "puppy"],
    ],
    resourcePath: "/johnsmith/",
    stringToSign: "GET\n\n\nTue, 27 Mar 2007 19:42:41 +0000\n/johnsmith/",
    signature: "htDYFYduRNen8P9ZfE/s9SuKy0U=",
  },
  {
    name: "Fetch ?acl (a sub-resource without a value)",
    method: "GET",
    headers: { date: "Tue, 27 Mar 2007 19:44:46 +0000" },
    query: [["acl", ""]],
    resourcePath: "/johnsmith/",
    stringToSign: "GET\n\n\nTue, 27 Mar 2007 19:44:46 +0000\n/johnsmith/?acl",
    signature: "c2WLPFtWHVgbEmeEG93a4cG37dM=",
  },
  {
    name: "Upload (x-amz-* lower-cased, sorted, repeated values joined by commas, Content-MD5 signed)",
    method: "PUT",
    headers: {
      "user-agent": "curl/7.15.5",
      date: "Tue, 27 Mar 2007 21:06:08 +0000",
      "x-amz-acl": "public-read",
      "content-type": "application/x-download",
      "content-md5": "4gJE4saaMU4BqNR0kLY+lw==",
      "x-amz-meta-reviewedby": "joe@johnsmith.net,jane@johnsmith.net",
      "x-amz-meta-filechecksum": "0x02661779",
      "x-amz-meta-checksumalgorithm": "crc32",
      "content-disposition": "attachment; filename=database.dat",
      "content-encoding": "gzip",
      "content-length": "5913339",
    },
    resourcePath: "/static.johnsmith.net/db-backup.dat.gz",
    stringToSign:
      "PUT\n4gJE4saaMU4BqNR0kLY+lw==\napplication/x-download\nTue, 27 Mar 2007 21:06:08 +0000\n" +
      "x-amz-acl:public-read\nx-amz-meta-checksumalgorithm:crc32\nx-amz-meta-filechecksum:0x02661779\n" +
      "x-amz-meta-reviewedby:joe@johnsmith.net,jane@johnsmith.net\n/static.johnsmith.net/db-backup.dat.gz",
    signature: "ilyl83RwaSoYIEdixDQcA4OnAnc=",
  },
  {
    name: "List all my buckets",
    method: "GET",
    headers: { date: "Wed, 28 Mar 2007 01:29:59 +0000" },
    resourcePath: "/",
    stringToSign: "GET\n\n\nWed, 28 Mar 2007 01:29:59 +0000\n/",
    signature: "qGdzdERIC03wnaRNKh6OqZehG9s=",
  },
  {
    name: "Unicode keys (the path signed exactly as on the wire, percent case kept)",
    method: "GET",
    headers: { date: "Wed, 28 Mar 2007 01:49:49 +0000" },
    resourcePath: "/dictionary/fran%C3%A7ais/pr%c3%a9f%c3%a8re",
    stringToSign: "GET\n\n\nWed, 28 Mar 2007 01:49:49 +0000\n/dictionary/fran%C3%A7ais/pr%c3%a9f%c3%a8re",
    signature: "DNEZGsoieTZ92F3bUfSPQcbGmlM=",
  },
];

const headerOf = (headers: Record<string, string>) => (name: string) => headers[name];
const amzNames = (headers: Record<string, string>) =>
  Object.keys(headers).filter((n) => n.startsWith("x-amz-"));

function refused(status: number, code: string, fn: () => unknown): void {
  assert.throws(
    fn,
    (error: unknown) => isSluiceError(error) && error.status === status && error.code === code,
  );
}

describe("SigV2 string to sign: the S3 developer guide's examples, byte for byte", () => {
  for (const example of EXAMPLES)
    test(example.name, () => {
      const text = stringToSignV2({
        method: example.method,
        header: headerOf(example.headers),
        amzHeaderNames: amzNames(example.headers),
        query: example.query ?? [],
        resourcePath: example.resourcePath,
        dateOrExpires: example.headers.date ?? "",
      });
      assert.equal(text, example.stringToSign);
      assert.equal(signV2(SECRET, text), example.signature);
    });

  test("query authentication: Expires takes the Date position (documented vector)", () => {
    const text = stringToSignV2({
      method: "GET",
      header: () => undefined,
      query: [
        ["AWSAccessKeyId", KEY],
        ["Signature", "NpgCjnDzrM+WFzoENXmpNDUsSn8="],
        ["Expires", "1175139620"],
      ],
      resourcePath: "/johnsmith/photos/puppy.jpg",
      dateOrExpires: "1175139620",
    });
    assert.equal(text, "GET\n\n\n1175139620\n/johnsmith/photos/puppy.jpg");
    assert.equal(signV2(SECRET, text), "NpgCjnDzrM+WFzoENXmpNDUsSn8=");
  });
});

describe("SigV2 string to sign: canonicalization rules", () => {
  const base = { method: "GET", header: () => undefined, resourcePath: "/b/k", dateOrExpires: "1" };

  test("sub-resources sorted by name, joined by &, values not encoded; response-* overrides included; others left out", () => {
    const text = stringToSignV2({
      ...base,
      query: [
        ["versionId", "v 1/2"],
        ["response-content-disposition", 'attachment; filename="a b.txt"'],
        ["x-id", "GetObject"],
        ["response-content-type", "text/plain"],
        ["acl", ""],
        ["uploads", ""],
        ["partNumber", "2"],
        ["uploadId", "u+1"],
        ["response-expires", "Thu, 01 Dec 1994 16:00:00 GMT"],
        ["prefix", "p"],
      ],
    });
    assert.equal(
      text.split("\n").at(-1),
      '/b/k?acl&partNumber=2&response-content-disposition=attachment; filename="a b.txt"' +
        "&response-content-type=text/plain&response-expires=Thu, 01 Dec 1994 16:00:00 GMT" +
        "&uploadId=u+1&uploads&versionId=v 1/2",
    );
  });

  test("every sub-resource botocore signs is part of the resource", () => {
    for (const name of [
      "accelerate",
      "cors",
      "delete",
      "lifecycle",
      "object-lock",
      "select",
      "tagging",
      "website",
    ])
      assert.equal(
        stringToSignV2({ ...base, query: [[name, ""]] })
          .split("\n")
          .at(-1),
        `/b/k?${name}`,
      );
  });

  test("x-amz-* values are trimmed and folded whitespace becomes one space; only x-amz-* and the three positional headers count", () => {
    const headers: Record<string, string> = {
      "x-amz-meta-b": "  two\r\n   lines  ",
      "x-amz-meta-a": "a\t\tb",
      "x-amz-date": "Tue, 27 Mar 2007 21:20:26 +0000",
      "content-encoding": "gzip",
    };
    const text = stringToSignV2({
      ...base,
      header: headerOf(headers),
      amzHeaderNames: amzNames(headers),
      query: [],
      dateOrExpires: "",
    });
    assert.equal(
      text,
      "GET\n\n\n\nx-amz-date:Tue, 27 Mar 2007 21:20:26 +0000\nx-amz-meta-a:a b\nx-amz-meta-b:two lines\n/b/k",
    );
  });
});

describe("verifyRequestV2", () => {
  const secretFor = (id: string) => (id === KEY ? SECRET : undefined);
  const [get] = EXAMPLES as [Example];
  const headerRequest = (authorization: string, headers: Record<string, string> = get.headers) => ({
    method: "GET",
    rawPath: "/photos/puppy.jpg",
    query: [] as Array<[string, string]>,
    header: headerOf({ ...headers, authorization }),
    headerNames: [...Object.keys(headers), "authorization"],
  });
  const at = new Date("2007-03-27T19:40:00Z");

  test("the documented Object GET verifies, by header; any change to it is 403 SignatureDoesNotMatch", () => {
    const request = headerRequest(`AWS ${KEY}:${get.signature}`);
    assert.deepEqual(verifyRequestV2({ request, resourcePath: get.resourcePath, secretFor, now: at }), {
      accessKeyId: KEY,
      via: "header",
    });
    refused(403, "SignatureDoesNotMatch", () =>
      verifyRequestV2({ request, resourcePath: "/johnsmith/photos/kitten.jpg", secretFor, now: at }),
    );
    refused(403, "SignatureDoesNotMatch", () =>
      verifyRequestV2({
        request: { ...request, method: "DELETE" },
        resourcePath: get.resourcePath,
        secretFor,
        now: at,
      }),
    );
    const signedMeta = headerRequest(`AWS ${KEY}:${get.signature}`, { ...get.headers, "x-amz-meta-a": "1" });
    refused(403, "SignatureDoesNotMatch", () =>
      verifyRequestV2({ request: signedMeta, resourcePath: get.resourcePath, secretFor, now: at }),
    );
  });

  test("header auth: more than 15 minutes off is 403 RequestTimeTooSkewed; no date 403; unknown key 403; malformed 400", () => {
    const request = headerRequest(`AWS ${KEY}:${get.signature}`);
    const late = new Date("2007-03-27T19:52:00Z");
    refused(403, "RequestTimeTooSkewed", () =>
      verifyRequestV2({ request, resourcePath: get.resourcePath, secretFor, now: late }),
    );
    refused(403, "AccessDenied", () =>
      verifyRequestV2({
        request: headerRequest(`AWS ${KEY}:${get.signature}`, {}),
        resourcePath: "/",
        secretFor,
        now: at,
      }),
    );
    refused(403, "InvalidAccessKeyId", () =>
      verifyRequestV2({
        request: headerRequest(`AWS NOBODY:${get.signature}`),
        resourcePath: "/",
        secretFor,
        now: at,
      }),
    );
    refused(400, "InvalidArgument", () =>
      verifyRequestV2({ request: headerRequest(`AWS ${KEY}:a b`), resourcePath: "/", secretFor, now: at }),
    );
  });

  test("query auth: the documented presigned GET verifies until Expires, then 403 'Request has expired'", () => {
    const request = {
      method: "GET",
      rawPath: "/photos/puppy.jpg",
      query: [
        ["AWSAccessKeyId", KEY],
        ["Signature", "NpgCjnDzrM+WFzoENXmpNDUsSn8="],
        ["Expires", "1175139620"],
      ] as Array<[string, string]>,
      header: () => undefined,
      headerNames: [],
    };
    const options = { request, resourcePath: "/johnsmith/photos/puppy.jpg", secretFor };
    assert.equal(verifyRequestV2({ ...options, now: new Date(1175139620 * 1000) }).via, "query");
    refused(403, "AccessDenied", () => verifyRequestV2({ ...options, now: new Date(1175139621 * 1000) }));
    const noExpires = { ...request, query: request.query.filter(([name]) => name !== "Expires") };
    refused(403, "AccessDenied", () => verifyRequestV2({ ...options, request: noExpires, now: new Date(0) }));
  });
  test("a bucket signed as `/bucket/` or `/bucket`, and botocore 1.28-1.35's model query before the sub-resources, verify; nothing else does", () => {
    const signedAs = (resource: string, query: Array<[string, string]>, wirePath: string) => {
      const date = "Tue, 27 Mar 2007 19:42:41 +0000";
      const signature = signV2(SECRET, `GET\n\n\n${date}\n${resource}`);
      const request = {
        method: "GET",
        rawPath: wirePath,
        query,
        header: headerOf({ date, authorization: `AWS ${KEY}:${signature}` }),
        headerNames: ["date", "authorization"],
      };
      return () => verifyRequestV2({ request, resourcePath: wirePath, secretFor, now: at });
    };
    const list: Array<[string, string]> = [["encoding-type", "url"]];
    assert.equal(signedAs("/johnsmith/", list, "/johnsmith")().accessKeyId, KEY);
    assert.equal(signedAs("/johnsmith", list, "/johnsmith/")().accessKeyId, KEY);
    const v2: Array<[string, string]> = [
      ["list-type", "2"],
      ["encoding-type", "url"],
    ];
    assert.equal(signedAs("/johnsmith?list-type=2", v2, "/johnsmith")().accessKeyId, KEY);
    assert.equal(signedAs("/johnsmith?delete?delete", [["delete", ""]], "/johnsmith")().accessKeyId, KEY);
    assert.equal(
      signedAs("/johnsmith/k?uploads?uploads", [["uploads", ""]], "/johnsmith/k")().accessKeyId,
      KEY,
    );
    const attributes: Array<[string, string]> = [["attributes", ""]];
    assert.equal(signedAs("/johnsmith/k?attributes", attributes, "/johnsmith/k")().accessKeyId, KEY);
    assert.equal(signedAs("/johnsmith/k", attributes, "/johnsmith/k")().accessKeyId, KEY);
    refused(403, "SignatureDoesNotMatch", signedAs("/johnsmith/k/", [], "/johnsmith/k"));
    refused(403, "SignatureDoesNotMatch", signedAs("/johnsmith?encoding-type=url", list, "/johnsmith"));
    refused(403, "SignatureDoesNotMatch", signedAs("/johnsmith?acl", [["delete", ""]], "/johnsmith"));
    refused(
      403,
      "SignatureDoesNotMatch",
      signedAs("/johnsmith?list-type=2", [["list-type", "1"]], "/johnsmith"),
    );
  });
});
