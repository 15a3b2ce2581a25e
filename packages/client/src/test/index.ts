/** Test helpers other packages' tests use (`@sluice/client/testing`): not part of the SDK. */
export { type Fault, type FaultProxy, startFaultProxy } from "./fault-proxy.ts";
export { READ_RECORDS } from "./indexed-db-page.ts";
export { randomFile, type Stack, sha256File, startStack } from "./stack.ts";
