import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { type NetworkInterfaceInfo, tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { describe, it } from "node:test";
import { startStore } from "@sluice/store";
import pino from "pino";
import { startBroker } from "../server.ts";
import { pageOrigins } from "../storage/cors.ts";
import { TEST_SECRET } from "../test/harness.ts";
import { parseConfig } from "./load.ts";
import { machineAddress, publicAddressWarnings, reachableUrl } from "./public-address.ts";

const nic = (address: string, family: "IPv4" | "IPv6", internal = false) =>
  ({ address, family, internal, netmask: "", mac: "", cidr: null }) as NetworkInterfaceInfo;

describe("public addresses", () => {
  it("replace a listen-on-every-interface host with one a client can connect to", () => {
    assert.equal(reachableUrl("http://0.0.0.0:9000", "192.0.2.7"), "http://192.0.2.7:9000");
    assert.equal(reachableUrl("http://[::]:8080", "192.0.2.7"), "http://192.0.2.7:8080");
    assert.equal(reachableUrl("http://127.0.0.1:8080", "192.0.2.7"), "http://127.0.0.1:8080");
    assert.equal(reachableUrl("https://files.example.com", "192.0.2.7"), "https://files.example.com");
  });

  it("take this machine's first external IPv4, else a global IPv6, never loopback", () => {
    const lo = nic("127.0.0.1", "IPv4", true);
    assert.equal(
      machineAddress({ lo: [lo], eth0: [nic("fe80::1", "IPv6"), nic("192.0.2.7", "IPv4")] }),
      "192.0.2.7",
    );
    assert.equal(
      machineAddress({ lo: [lo], eth0: [nic("fe80::1", "IPv6"), nic("2001:db8::7", "IPv6")] }),
      "[2001:db8::7]",
    );
    assert.equal(machineAddress({ lo: [lo] }), undefined);
  });

  it("warn when presigned URLs or links would name an address clients cannot use", () => {
    const warnings = (config: Record<string, unknown>) =>
      publicAddressWarnings(parseConfig({ storage: { endpoint: "http://127.0.0.1:9000" }, ...config }));
    assert.deepEqual(warnings({}), [], "one machine, loopback everywhere: nothing to say");
    assert.match(
      warnings({ storage: { endpoint: "http://0.0.0.0:9000" } }).join(),
      /no client can connect to: set storage\.publicEndpoint/,
    );
    assert.match(
      warnings({ server: { host: "0.0.0.0" } }).join(),
      /listens on 0\.0\.0\.0 but presigned URLs point at http:\/\/127\.0\.0\.1:9000/,
    );
    assert.deepEqual(
      warnings({
        server: { host: "0.0.0.0" },
        storage: { endpoint: "http://127.0.0.1:9000", publicEndpoint: "https://s3.example.com" },
      }),
      [],
    );
    assert.match(warnings({ server: { publicUrl: "http://0.0.0.0:8080" } }).join(), /server\.publicUrl/);
    assert.match(
      warnings({ server: { trustProxy: true } }).join(),
      /set server\.publicUrl \(SLUICE_PUBLIC_URL\)/,
    );
    assert.deepEqual(warnings({ server: { trustProxy: true, publicUrl: "https://files.example.com" } }), []);
  });

  it("let the page upload from every origin a browser can reach it by", () => {
    const origins = pageOrigins({ listenUrl: "http://0.0.0.0:8080" });
    assert.deepEqual(origins.slice(1), ["http://127.0.0.1:8080", "http://localhost:8080"]);
    assert.doesNotMatch(origins[0]!, /0\.0\.0\.0/);
    assert.deepEqual(
      pageOrigins({ listenUrl: "http://0.0.0.0:8080", publicUrl: "https://files.example.com/" }),
      ["https://files.example.com"],
    );
  });

  it("are logged when the broker starts, and publicUrl is what it reports to clients", async () => {
    const lines: string[] = [];
    const logger = pino(
      { level: "warn" },
      new Writable({
        write(chunk, _encoding, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    );
    const dir = mkdtempSync(join(tmpdir(), "sluice-public-"));
    const credentials = { accessKeyId: "AKPUBLIC", secretAccessKey: randomBytes(20).toString("hex") };
    const store = await startStore({ dataDir: join(dir, "store"), port: 0, credentials: [credentials] });
    const start = async (config: Record<string, unknown>) => {
      const broker = await startBroker(
        parseConfig({
          dataDir: join(dir, "broker"),
          auth: { jwt: { secret: TEST_SECRET } },
          ...config,
          server: { port: 0, ...(config.server as object) },
          storage: { endpoint: store.endpoint, ...credentials, ...(config.storage as object) },
        }),
        { logger },
      );
      await broker.close();
      return broker;
    };
    try {
      const proxied = await start({ server: { publicUrl: "https://files.example.com/", trustProxy: true } });
      assert.equal(proxied.publicUrl, "https://files.example.com");
      assert.deepEqual(lines, [], "nothing to warn about");
      const local = await start({ storage: { publicEndpoint: "http://0.0.0.0:9000" } });
      assert.equal(local.publicUrl, local.url);
      assert.match(lines.join(""), /"level":40.*presigned URLs would point at http:\/\/0\.0\.0\.0:9000/);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
