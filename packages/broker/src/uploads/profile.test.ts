// Names from requests that index the configuration (profiles, derivative
// presets) are looked up as own keys only: Object.prototype's members are
// unknown names (400), never a 500 from a function taken for a profile.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { parseConfig } from "../config/load.ts";
import { type Harness, startHarness } from "../test/harness.ts";

const PROTO_NAMES = ["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf"];

describe("names that index the configuration", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ config: { profiles: { default: {}, other: {} } } });
  });
  after(() => h?.close());

  for (const name of PROTO_NAMES) {
    it(`profile ${JSON.stringify(name)} is an unknown profile (400), for a grant and a form grant`, async () => {
      for (const json of [
        { profile: name, name: "a.txt", size: 1, type: "text/plain" },
        { profile: name, form: true, redirect: "/form/done" },
      ]) {
        const res = await h.api("/v1/uploads", { method: "POST", json });
        assert.equal(res.status, 400);
        assert.equal(((await res.json()) as { error: { code: string } }).error.code, "UnknownProfile");
      }
    });
  }

  it("a profile listing a derivative named like an Object member is refused at start-up", () => {
    for (const name of PROTO_NAMES.filter((n) => /^[a-z0-9][a-z0-9_-]*$/i.test(n))) {
      assert.throws(
        () => parseConfig({ profiles: { avatar: { derivatives: [name] } } }),
        new RegExp(`unknown derivative "${name}"`),
      );
    }
  });
});
