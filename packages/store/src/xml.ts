import { XMLParser, XMLValidator } from "fast-xml-parser";
import { s3Error } from "./errors.ts";

const S3_NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/";

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Element content: a scalar, nested elements, or an array meaning the element repeats. */
export type XmlValue = string | number | boolean | undefined | XmlElements | XmlValue[];
export interface XmlElements {
  [tag: string]: XmlValue;
}

function renderChildren(elements: XmlElements): string {
  let out = "";
  for (const [tag, value] of Object.entries(elements)) out += renderElement(tag, value);
  return out;
}

function renderElement(tag: string, value: XmlValue): string {
  if (value === undefined) return "";
  if (Array.isArray(value)) return value.map((item) => renderElement(tag, item)).join("");
  if (typeof value === "object") return `<${tag}>${renderChildren(value)}</${tag}>`;
  return `<${tag}>${escapeXml(String(value))}</${tag}>`;
}

/** A response document with S3's namespace on the root element. */
export function xmlDocument(root: string, content: XmlElements): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="${S3_NAMESPACE}">${renderChildren(content)}</${root}>`;
}

const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: true,
  processEntities: true,
  // Elements that may repeat are always arrays, so one element and many look the same.
  isArray: (name) =>
    [
      "Part",
      "Object",
      "CORSRule",
      "Rule",
      "AllowedOrigin",
      "AllowedMethod",
      "AllowedHeader",
      "ExposeHeader",
    ].includes(name),
});

/**
 * Parses a request body whose root element must be `root`; anything else,
 * including a document that is not well-formed, is 400 MalformedXML.
 */
export function parseXml(text: string, root: string): Record<string, unknown> {
  if (text.trim() === "" || XMLValidator.validate(text) !== true) throw s3Error("MalformedXML");
  // No document type, so no entity declarations to expand (billion laughs, external entities).
  if (/<!(DOCTYPE|ENTITY)/i.test(text)) throw s3Error("MalformedXML");
  let parsed: Record<string, unknown>;
  try {
    parsed = parser.parse(text) as Record<string, unknown>;
  } catch {
    throw s3Error("MalformedXML");
  }
  const content = parsed[root];
  if (content === undefined) throw s3Error("MalformedXML");
  if (content === "") return {};
  if (typeof content !== "object" || content === null || Array.isArray(content))
    throw s3Error("MalformedXML");
  return content as Record<string, unknown>;
}

/** A parsed element that may repeat, as a list (absent or empty: none). */
export function xmlList(value: unknown): unknown[] {
  if (value === undefined || value === "") return [];
  return Array.isArray(value) ? value : [value];
}
