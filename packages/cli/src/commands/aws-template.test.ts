// deploy/aws/template.yaml, checked for structure: it parses (with
// CloudFormation's short-form tags), every reference names something that
// exists, the function is granted exactly what `sluice policy` prints, on the
// bucket the template creates, and the wiring the Lambda package relies on
// (handler, zip path, SQS partial batch responses, CORS, lifecycle) is there.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parse, type Tags } from "yaml";
import { iamPolicy } from "./admin.ts";

const TEMPLATE = fileURLToPath(new URL("../../../../deploy/aws/template.yaml", import.meta.url));

/** CloudFormation's short forms (!Ref x, !GetAtt a.b, !Sub "…", !If […]) as their long forms. */
function cloudFormationTags(): Tags {
  const long = (tag: string) => (tag === "Ref" ? "Ref" : `Fn::${tag}`);
  const names = ["Ref", "GetAtt", "Sub", "If", "Not", "Equals", "Join", "Select", "Split", "And", "Or"];
  return names.flatMap((name) => [
    { tag: `!${name}`, resolve: (value: string) => ({ [long(name)]: value }) },
    {
      tag: `!${name}`,
      collection: "seq" as const,
      resolve: (seq: { toJSON(): unknown }) => ({ [long(name)]: seq.toJSON() }),
    },
  ]);
}

// biome-ignore lint/suspicious/noExplicitAny: a parsed CloudFormation document
type Node = any;
const template: Node = parse(readFileSync(TEMPLATE, "utf8"), { customTags: cloudFormationTags() });

/** Every logical name the template refers to: Ref, GetAtt and ${Name} inside Sub. */
function references(node: Node, found = new Set<string>()): Set<string> {
  if (Array.isArray(node)) for (const item of node) references(item, found);
  else if (node && typeof node === "object") {
    for (const [key, value] of Object.entries(node)) {
      if (key === "Ref" && typeof value === "string") found.add(value);
      else if (key === "Fn::GetAtt")
        found.add(typeof value === "string" ? value.split(".")[0]! : (value as string[])[0]!);
      else if (key === "Fn::Sub" && typeof value === "string") {
        for (const m of value.matchAll(/\$\{([^}.!]+)[^}]*\}/g)) found.add(m[1]!);
      } else references(value, found);
    }
  }
  return found;
}

describe("deploy/aws/template.yaml", () => {
  const resources = template.Resources as Record<string, Node>;
  const fn = resources.BrokerFunction.Properties;

  it("parses, and every reference names a resource, a parameter or a pseudo parameter", () => {
    assert.equal(template.Transform, "AWS::Serverless-2016-10-31");
    const known = new Set([
      ...Object.keys(resources),
      ...Object.keys(template.Parameters),
      "ServerlessHttpApi", // the API SAM creates for the HttpApi event
    ]);
    const unknown = [...references(template)].filter((name) => !known.has(name) && !name.startsWith("AWS::"));
    assert.deepEqual(unknown, []);
    for (const name of Object.keys(template.Conditions)) {
      const used = JSON.stringify(template.Resources).includes(`"Fn::If":["${name}"`);
      assert.ok(used, `condition ${name} is used`);
    }
  });

  it("grants the function exactly what `sluice policy` prints, on the bucket it creates", () => {
    assert.equal(resources.UploadsBucket.Type, "AWS::S3::Bucket");
    const expected = iamPolicy({
      // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's Sub placeholder, on purpose
      bucket: "${UploadsBucket}",
      profiles: { default: { keyPrefix: "" } },
      setup: false,
    }).Statement;
    const granted = fn.Policies[0].Statement as Node[];
    for (const statement of expected) {
      const actual = granted.find((s) => s.Sid === statement.Sid);
      assert.ok(actual, `statement ${statement.Sid}`);
      assert.deepEqual(actual.Action, statement.Action, `${statement.Sid} actions`);
      assert.deepEqual(
        actual.Resource.map((r: Node) => r["Fn::Sub"]),
        statement.Resource,
        `${statement.Sid} resources`,
      );
    }
    const extra = granted.filter((s) => !expected.some((e) => e.Sid === s.Sid));
    assert.deepEqual(
      extra.map((s) => [s.Sid, s.Resource]),
      [["SluiceEvents", [{ "Fn::GetAtt": "EventsQueue.Arn" }]]],
      "besides storage, only its own queue",
    );
  });

  it("wires storage events to SQS and the function with partial batch responses", () => {
    const queue = resources.UploadsBucket.Properties.NotificationConfiguration.QueueConfigurations[0];
    assert.equal(queue.Event, "s3:ObjectCreated:*");
    assert.deepEqual(queue.Queue, { "Fn::GetAtt": "EventsQueue.Arn" });
    const sqs = fn.Events.StorageEvents;
    assert.equal(sqs.Type, "SQS");
    assert.deepEqual(sqs.Properties.FunctionResponseTypes, ["ReportBatchItemFailures"]);
    assert.equal(fn.Events.Api.Type, "HttpApi");
    assert.equal(fn.Events.Sweep.Type, "Schedule");
    assert.ok(resources.EventsQueue.Properties.VisibilityTimeout >= 6 * fn.Timeout);
  });

  it("runs the zip that npm run build:lambda makes, on PostgreSQL and the identity provider's JWKS", () => {
    assert.equal(fn.CodeUri, "dist/sluice-lambda.zip");
    assert.equal(fn.Handler, "index.handler");
    assert.match(fn.Runtime, /^nodejs(20|22)\.x$/);
    const env = fn.Environment.Variables;
    assert.deepEqual(env.SLUICE_DATABASE_URL, { Ref: "DatabaseUrl" });
    assert.deepEqual(env.SLUICE_JWKS_URL, { Ref: "JwksUrl" });
    assert.deepEqual(env.SLUICE_STORAGE_BUCKET, { Ref: "UploadsBucket" });
    assert.match(template.Parameters.DatabaseUrl.AllowedPattern, /postgres/);
  });

  it("gives the bucket the CORS allowlist and the abort-incomplete-multipart rule", () => {
    const bucket = resources.UploadsBucket.Properties;
    const cors = bucket.CorsConfiguration.CorsRules[0];
    assert.deepEqual(cors.AllowedOrigins, { Ref: "CorsOrigins" });
    assert.deepEqual(cors.AllowedMethods, ["GET", "PUT", "POST", "HEAD"]);
    assert.ok(cors.ExposedHeaders.includes("ETag"), "multipart needs each part's ETag");
    const rules = bucket.LifecycleConfiguration.Rules as Node[];
    assert.ok(rules.some((r) => r.AbortIncompleteMultipartUpload?.DaysAfterInitiation >= 1));
    assert.equal(bucket.PublicAccessBlockConfiguration.BlockPublicPolicy, true);
  });
});
