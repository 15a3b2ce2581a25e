import { randomBytes, randomInt } from "node:crypto";

// Random inputs for the cross-checks against the AWS SDK's signer: the
// characters S3 keys and query values trip over (reserved, percent, Unicode).
const ALPHABET = [
  "a",
  "Z",
  "0",
  "-",
  "_",
  ".",
  "~",
  " ",
  "+",
  "!",
  "*",
  "(",
  "'",
  "%",
  "&",
  "=",
  "é",
  "日",
  "😀",
  "/",
  "?",
  "#",
  ":",
];

export function randomText(min: number, max: number): string {
  let text = "";
  for (let i = randomInt(min, max + 1); i > 0; i--) text += ALPHABET[randomInt(ALPHABET.length)];
  return text;
}

/** A key that does not start with "/" (path-style URLs would fold it into the bucket). */
export function randomKey(maxLength: number): string {
  return randomText(1, maxLength).replace(/^\/+/, "") || "k";
}

export function randomCredentials(): { accessKeyId: string; secretAccessKey: string; sessionToken?: string } {
  return {
    accessKeyId: `AK${randomBytes(8).toString("hex").toUpperCase()}`,
    secretAccessKey: randomBytes(30).toString("base64"),
    ...(randomInt(3) === 0 ? { sessionToken: randomBytes(20).toString("base64") } : {}),
  };
}
