#!/usr/bin/env node
// The `sluice` command: runs the TypeScript sources directly through tsx (no build step).
import { register } from "tsx/esm/api";

// Node 20 is a supported target; the AWS SDK's notice about its future Node 22 floor would only confuse users.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
register();
await import("../src/main.ts");
