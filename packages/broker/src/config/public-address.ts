// What clients are given, as opposed to where the broker and storage listen:
// `server.publicUrl` (share links, form redirects, the page's origin) and
// `storage.publicEndpoint` (the host of every presigned URL). A server that
// listens on every interface (0.0.0.0, ::) has no address a client can use
// until one is derived or configured; these helpers do the deriving and name
// what is unusable at start-up.
import { networkInterfaces } from "node:os";
import type { BrokerConfig } from "./schema.ts";

const UNSPECIFIED = new Set(["0.0.0.0", "::", "[::]", "0:0:0:0:0:0:0:0"]);

/** An address to listen on that no client can connect to (every interface). */
export function isUnspecifiedHost(host: string): boolean {
  return UNSPECIFIED.has(host);
}

export function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The address other machines most likely reach this one at: its first external IPv4, else IPv6. */
export function machineAddress(interfaces = networkInterfaces()): string | undefined {
  const addresses = Object.values(interfaces)
    .flat()
    .filter((a) => a !== undefined && !a.internal);
  const v4 = addresses.find((a) => a!.family === "IPv4");
  if (v4) return v4.address;
  const v6 = addresses.find((a) => a!.family === "IPv6" && !a!.address.startsWith("fe80:"));
  return v6 ? `[${v6.address}]` : undefined;
}

/** The URL with an unspecified host (0.0.0.0) replaced by one a client can connect to. */
export function reachableUrl(url: string, host = machineAddress() ?? "127.0.0.1"): string {
  const parsed = new URL(url);
  if (!isUnspecifiedHost(parsed.hostname)) return url;
  parsed.hostname = host;
  return parsed.href.replace(/\/$/, "");
}

/** Why the addresses clients are given will not work, one sentence each (logged at start-up). */
export function publicAddressWarnings(config: BrokerConfig): string[] {
  const warnings: string[] = [];
  const { server, storage } = config;
  const exposed = !isLoopbackHost(server.host);
  const presigned = storage.publicEndpoint ?? storage.endpoint;
  if (presigned) {
    const host = new URL(presigned).hostname;
    if (isUnspecifiedHost(host)) {
      warnings.push(
        `presigned URLs would point at ${presigned}, which no client can connect to: set storage.publicEndpoint (SLUICE_STORAGE_PUBLIC_ENDPOINT) to the address clients reach storage at`,
      );
    } else if (exposed && isLoopbackHost(host)) {
      warnings.push(
        `the broker listens on ${server.host} but presigned URLs point at ${presigned}, which only this machine can reach: set storage.publicEndpoint (SLUICE_STORAGE_PUBLIC_ENDPOINT)`,
      );
    }
  }
  if (server.publicUrl && isUnspecifiedHost(new URL(server.publicUrl).hostname)) {
    warnings.push(
      `server.publicUrl ${server.publicUrl} is not an address a client can connect to: set the URL clients use`,
    );
  }
  if (server.trustProxy && !server.publicUrl) {
    warnings.push(
      "server.trustProxy is on but server.publicUrl is unset: share links and form redirects are built from the Host the proxy forwards, with its scheme; set server.publicUrl (SLUICE_PUBLIC_URL) to the URL clients use, e.g. https://files.example.com",
    );
  }
  return warnings;
}
