/** Server-side HTML: a tagged template that escapes every interpolated value unless it is already Html. */

export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export function escapeHtml(value: string): string {
  return value.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
}

type Value = Html | string | number | boolean | null | undefined | Value[];

function render(value: Value): string {
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(render).join("");
  if (value === null || value === undefined || value === false) return "";
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: Value[]): Html {
  let out = strings[0]!;
  values.forEach((value, i) => {
    out += render(value) + strings[i + 1]!;
  });
  return new Html(out);
}

/** The common shell: strict CSP (scripts and styles from this origin only), storage allowed for XHR and images. */
export function documentResponse(options: {
  title: string;
  body: Html;
  storageOrigin: string;
  script?: boolean;
  status?: number;
  /** Reload after this many seconds (a page waiting for the server, without JavaScript). */
  refresh?: number;
}): Response {
  const page = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title}</title>
${options.refresh ? html`<meta http-equiv="refresh" content="${options.refresh}">` : ""}
<link rel="stylesheet" href="/assets/app.css">
${options.script ? html`<script type="module" src="/assets/app.js"></script>` : ""}
</head>
<body>
${options.body}
</body>
</html>
`;
  const storage = options.storageOrigin;
  const csp = [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `img-src 'self' ${storage} blob: data:`,
    `connect-src 'self' ${storage}`,
    `form-action 'self' ${storage}`,
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
  return new Response(page.text, {
    status: options.status ?? 200,
    headers: {
      "content-type": "text/html; charset=utf-8",
      "content-security-policy": csp,
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
      "cache-control": "no-store",
    },
  });
}
