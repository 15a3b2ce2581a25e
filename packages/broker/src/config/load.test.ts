import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { isSluiceError } from "@sluice/core";
import { loadConfig } from "./load.ts";
import { formatDuration, formatSize, parseDuration, parseSize } from "./units.ts";

function tempFile(name: string, text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), "sluice-config-")), name);
  writeFileSync(file, text);
  return file;
}

function configErrorMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(isSluiceError(error), "a SluiceError");
    assert.equal(error.code, "InvalidConfig");
    return error.message;
  }
  assert.fail("expected an InvalidConfig error");
}

describe("sizes and durations in messages", () => {
  it("speak the unit the value was written in", () => {
    assert.equal(formatSize(parseSize("50MiB")!), "50 MiB");
    assert.equal(formatSize(parseSize("50MB")!), "50 MB");
    assert.equal(formatSize(parseSize("5GiB")!), "5 GiB");
    assert.equal(formatSize(1000), "1 KB");
    assert.equal(formatSize(1500), "1.5 KiB");
    assert.equal(formatSize(17), "17 B");
    assert.equal(formatDuration(2_592_000), "30d");
    assert.equal(formatDuration(5400), "90m");
    assert.equal(formatDuration(45), "45s");
  });
});

describe("config", () => {
  it("parses sizes and durations", () => {
    assert.equal(parseSize("5MB"), 5_000_000, "MB is SI");
    assert.equal(parseSize("5MiB"), 5 * 1024 * 1024, "MiB is binary");
    assert.equal(parseSize("64KB"), 64_000);
    assert.equal(parseSize("2GiB"), 2 * 1024 ** 3);
    assert.equal(parseSize("20GB"), 20e9);
    assert.equal(parseSize("1.5 GiB"), 1.5 * 1024 ** 3);
    assert.equal(parseSize(42), 42);
    assert.equal(parseSize("5 parsecs"), undefined);
    assert.equal(parseSize("-1"), undefined);
    assert.equal(parseDuration("15m"), 900);
    assert.equal(parseDuration("2h"), 7200);
    assert.equal(parseDuration("soon"), undefined);
  });

  it("has defaults that work on one machine, with a default profile", () => {
    const config = loadConfig();
    assert.equal(config.server.host, "127.0.0.1");
    assert.equal(config.server.port, 8080);
    assert.equal(config.storage.bucket, "sluice");
    assert.equal(config.storage.capabilities.conditionalWrites, true);
    assert.ok(config.dataDir.endsWith(".sluice"));
    assert.equal(config.profiles.default?.maxSize, 5 * 1024 ** 3);
    assert.deepEqual(config.profiles.default?.types, ["*/*"]);
    assert.equal(config.profiles.default?.method, "auto");
  });

  it("reads YAML profiles like DESIGN's example", () => {
    const file = tempFile(
      "sluice.yaml",
      `profiles:
  avatar: { maxSize: 5MB, types: [image/png, image/jpeg, image/webp], method: post }
  installer: { maxSize: 20GB, types: ["*/*"], partSize: 16MB }
`,
    );
    const config = loadConfig({ file });
    assert.equal(config.profiles.avatar?.maxSize, 5_000_000, "5MB: megabytes, as written");
    assert.equal(config.profiles.avatar?.method, "post");
    assert.equal(config.profiles.installer?.partSize, 16_000_000);
    assert.equal(config.profiles.installer?.maxSize, 20e9);
    assert.equal(config.profiles.default, undefined, "configured profiles replace the default");
  });

  it("has thumb-256 built in; configured derivative presets add to or replace it", () => {
    const file = tempFile(
      "sluice.yaml",
      `derivatives:
  banner: { width: 1200, height: 400, format: jpeg }
profiles:
  avatar: { maxSize: 5MB, types: [image/png, image/jpeg, image/webp], method: post, derivatives: [thumb-256, banner] }
`,
    );
    const config = loadConfig({ file });
    assert.deepEqual(config.profiles.avatar?.derivatives, ["thumb-256", "banner"]);
    assert.deepEqual(config.derivatives["thumb-256"], {
      width: 256,
      height: 256,
      fit: "cover",
      format: "webp",
      quality: 80,
    });
    assert.deepEqual(config.derivatives.banner, {
      width: 1200,
      height: 400,
      fit: "cover",
      format: "jpeg",
      quality: 80,
    });
    const replaced = loadConfig({ overrides: { derivatives: { "thumb-256": { width: 128, height: 128 } } } });
    assert.equal(replaced.derivatives["thumb-256"]?.width, 128);
  });

  it("names an unknown derivative and the known ones", () => {
    const file = tempFile("bad.yaml", "profiles:\n  avatar: { derivatives: [thumb-256, thumb-512] }\n");
    const message = configErrorMessage(() => loadConfig({ file }));
    assert.match(
      message,
      /profiles\.avatar\.derivatives\.1: unknown derivative "thumb-512" \(known: thumb-256\)/,
    );
    assert.match(
      configErrorMessage(() =>
        loadConfig({ overrides: { derivatives: { huge: { width: 99999, height: 1 } } } }),
      ),
      /derivatives\.huge\.width/,
    );
  });

  it("reads JSON and lets env then overrides win", () => {
    const file = tempFile(
      "sluice.json",
      JSON.stringify({ server: { port: 9000 }, storage: { bucket: "from-file" } }),
    );
    const config = loadConfig({
      file,
      env: {
        SLUICE_PORT: "9100",
        SLUICE_STORAGE_BUCKET: "from-env",
        SLUICE_CORS_ORIGINS: "https://a.example, https://b.example",
      },
      overrides: { storage: { endpoint: "http://127.0.0.1:9999" } },
    });
    assert.equal(config.server.port, 9100);
    assert.equal(config.storage.bucket, "from-env");
    assert.equal(config.storage.endpoint, "http://127.0.0.1:9999");
    assert.deepEqual(config.cors.origins, ["https://a.example", "https://b.example"]);
  });

  it("names the field and its source in start-up errors", () => {
    const message = configErrorMessage(() => loadConfig({ env: { SLUICE_PORT: "eighty" } }));
    assert.match(message, /server\.port/);
    assert.match(message, /SLUICE_PORT/);
    const file = tempFile("bad.yaml", "profiles:\n  docs: { maxSize: huge, types: [pdf] }\n");
    const fileMessage = configErrorMessage(() => loadConfig({ file }));
    assert.match(fileMessage, /profiles\.docs\.maxSize/);
    assert.match(fileMessage, /profiles\.docs\.types\.0/);
    assert.match(fileMessage, /bad\.yaml/);
  });

  it("refuses unknown fields, malformed files and missing files", () => {
    assert.match(
      configErrorMessage(() => loadConfig({ overrides: { storage: { bukket: "x" } } })),
      /storage/,
    );
    assert.match(
      configErrorMessage(() => loadConfig({ file: tempFile("x.yaml", "a: [unclosed") })),
      /not valid YAML/,
    );
    assert.match(
      configErrorMessage(() => loadConfig({ file: "/nonexistent/sluice.yaml" })),
      /Cannot read/,
    );
    assert.match(
      configErrorMessage(() => loadConfig({ file: tempFile("x.yaml", "- 1\n- 2\n") })),
      /must hold an object/,
    );
  });

  it("never echoes a secret in an error", () => {
    const message = configErrorMessage(() =>
      loadConfig({ env: { SLUICE_JWT_SECRET: "short-secret-value" } }),
    );
    assert.match(message, /auth\.jwt\.secret/);
    assert.doesNotMatch(message, /short-secret-value/);
  });
});
