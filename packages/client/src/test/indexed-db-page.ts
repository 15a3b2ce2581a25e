/**
 * In-page sources (function text for page.evaluate) that read and write the
 * SDK's IndexedDB resume database directly, the way the tests look behind the
 * store's back. They create the object store like the SDK does, so opening
 * first from here does not leave the SDK a database without it.
 */
const OPEN = `() => new Promise((resolve, reject) => {
  const request = indexedDB.open("sluice", 1);
  request.onupgradeneeded = () => request.result.createObjectStore("uploads");
  request.onsuccess = () => resolve(request.result);
  request.onerror = () => reject(request.error);
})`;

/** `() => Promise<Array<{ key, value }>>`: every record, as stored. */
export const READ_RECORDS = `async () => {
  const db = await (${OPEN})();
  const uploads = db.transaction("uploads").objectStore("uploads");
  const [keys, values] = await Promise.all([uploads.getAllKeys(), uploads.getAll()].map(
    (request) => new Promise((resolve) => { request.onsuccess = () => resolve(request.result); }),
  ));
  db.close();
  return keys.map((key, i) => ({ key, value: values[i] }));
}`;

/** `(entries: Array<[key, value]>) => Promise<void>`: stores values as given, valid or not. */
export const WRITE_RECORDS = `async (entries) => {
  const db = await (${OPEN})();
  const transaction = db.transaction("uploads", "readwrite");
  for (const [key, value] of entries) transaction.objectStore("uploads").put(value, key);
  await new Promise((resolve) => { transaction.oncomplete = resolve; });
  db.close();
}`;
