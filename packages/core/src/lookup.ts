/**
 * `record[name]` only when `name` is the record's own key: a user-supplied name
 * such as "constructor", "__proto__" or "toString" never reaches Object.prototype.
 */
export function ownValue<T>(record: Readonly<Record<string, T>>, name: string): T | undefined {
  return Object.hasOwn(record, name) ? record[name] : undefined;
}
