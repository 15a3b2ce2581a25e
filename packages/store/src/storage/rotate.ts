// `sluice store rotate-key`: a new master key, every data key re-wrapped with
// it in one catalog transaction, the old key dropped once nothing uses it. No
// object byte is rewritten. Safe beside a running store: it re-reads the key
// file when it changes, and a data key it wrapped meanwhile with the old key
// keeps that key in the file until the next rotation.
import { StoreEvents } from "../events.ts";
import { Catalog } from "./catalog.ts";
import { MasterKeys, wrappingKeyId } from "./encryption.ts";

export interface RotationResult {
  keyId: string;
  rewrapped: number;
  /** Master keys removed from the key file. */
  retired: string[];
}

export function rotateMasterKey(dataDir: string): RotationResult {
  const keys = new MasterKeys(dataDir);
  const catalog = new Catalog(dataDir, new StoreEvents());
  try {
    const keyId = keys.rotate();
    const rewrapped = catalog.rewrapDataKeys((wrapped) =>
      wrappingKeyId(wrapped) === keyId ? wrapped : keys.wrap(keys.unwrap(wrapped)),
    );
    const inUse = new Set(catalog.wrappedDataKeys().map(wrappingKeyId));
    return { keyId, rewrapped, retired: keys.retire(inUse) };
  } finally {
    catalog.close();
  }
}
