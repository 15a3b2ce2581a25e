// File names come from clients: normalise them before they reach a key, a log
// line or a Content-Disposition header.

const MAX_NAME_BYTES = 200;
// Controls (C0, C1) and every format character (Unicode Cf): bidi marks
// U+200E/U+200F/U+061C, embeddings and overrides U+202A–U+202E, isolates
// U+2066–U+2069 (an override makes `evil\u202Efdp.exe` show as `evilexe.pdf`),
// zero-width U+200B–U+200D, U+2060, BOM, soft hyphen; and the line and
// paragraph separators U+2028/U+2029. None of them belongs in a file name.
const UNSAFE = /[\p{Cc}\p{Cf}\u2028\u2029]/gu;

function truncateUtf8(value: string, maxBytes: number): string {
  let out = "";
  let bytes = 0;
  for (const char of value) {
    const size = Buffer.byteLength(char);
    if (bytes + size > maxBytes) break;
    out += char;
    bytes += size;
  }
  return out;
}

/**
 * Display name: Unicode NFC, last path segment only (no `/` or `\`), control
 * and bidi characters removed, no leading dots, at most 200 UTF-8 bytes with
 * the extension kept. Never empty.
 */
export function normaliseName(raw: string): string {
  const segment = raw.normalize("NFC").replace(UNSAFE, "").split(/[/\\]/).pop() ?? "";
  const trimmed = segment.trim().replace(/^\.+/, "").trim();
  if (!trimmed) return "file";
  if (Buffer.byteLength(trimmed) <= MAX_NAME_BYTES) return trimmed;
  const dot = trimmed.lastIndexOf(".");
  const ext = dot > 0 && trimmed.length - dot <= 16 ? trimmed.slice(dot) : "";
  return (
    truncateUtf8(trimmed.slice(0, trimmed.length - ext.length), MAX_NAME_BYTES - Buffer.byteLength(ext)) + ext
  );
}

/** Name as it appears in the object key: letters, digits and . _ - ( ) + only. */
export function keyName(name: string): string {
  return name.replace(/[^\p{L}\p{N}._()+-]/gu, "_");
}

/** A tenant or user id as one key segment; anything unusual is base64url-encoded. */
export function keySegment(value: string): string {
  return /^[A-Za-z0-9._@+=-]{1,128}$/.test(value) && !/^\.+$/.test(value)
    ? value
    : `~${Buffer.from(value).toString("base64url").slice(0, 170)}`;
}
