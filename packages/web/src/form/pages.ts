/** The no-JavaScript form's pages: sign-in, the upload form (a presigned POST) and the result. */
import type { PageHost, Profile } from "@sluice/broker";
import { formatSize } from "../format.ts";
import { documentResponse, type Html, html } from "../html.ts";

export interface FormUpload {
  id: string;
  state: string;
  name: string;
  size: number;
  type: string;
  reason: string | null;
  expiresAt: string;
}

function page(host: PageHost, options: { body: Html; status?: number; signedIn: boolean; refresh?: number }) {
  const body = html`
<header class="bar">
  <h1>Sluice</h1>
  ${
    options.signedIn
      ? html`<form method="post" action="/form/signout"><button type="submit" class="secondary">Sign out</button></form>`
      : ""
  }
</header>
<main>
${options.body}
</main>`;
  return documentResponse({
    title: "Sluice upload form",
    body,
    storageOrigin: host.storageOrigin,
    status: options.status,
    refresh: options.refresh,
  });
}

export function signInPage(host: PageHost, options: { error?: string; status?: number } = {}): Response {
  const body = html`
<section aria-labelledby="signin-title">
  <h2 id="signin-title">Sign in to upload</h2>
  <form method="post" action="/form/session" class="stack">
    <label for="token">Access token (API key or JWT)</label>
    <input id="token" name="token" type="password" autocomplete="off" spellcheck="false" required
      value="${host.devToken ?? ""}">
    ${host.devToken ? html`<p class="hint">The development token of this local broker is filled in.</p>` : ""}
    <button type="submit">Sign in</button>
    ${options.error ? html`<p role="alert" class="error">${options.error}</p>` : ""}
  </form>
  <p class="hint">This form works without JavaScript; the <a href="/">full page</a> uploads many files with progress.</p>
</section>`;
  return page(host, { body, status: options.status, signedIn: false });
}

function profileChooser(host: PageHost, chosen: string): Html | string {
  const names = Object.keys(host.profiles);
  if (names.length < 2) return "";
  return html`
<form method="get" action="/form" class="row">
  <label for="profile">Upload profile</label>
  <select id="profile" name="profile">
    ${names.map((name) => html`<option value="${name}" ${name === chosen ? "selected" : ""}>${name}</option>`)}
  </select>
  <button type="submit" class="secondary">Choose</button>
</form>`;
}

function limits(profile: Profile): string {
  const types = profile.types.includes("*/*") ? "any type" : profile.types.join(", ");
  return `up to ${formatSize(profile.maxSize)}; ${types}`;
}

/** The presigned POST as a plain multipart form: the grant's fields hidden, the file field last (S3 ignores fields after it). */
export function uploadFormPage(
  host: PageHost,
  options: { profile: string; post: { url: string; fields: Record<string, string> }; upload: FormUpload },
): Response {
  const profile = Object.hasOwn(host.profiles, options.profile) ? host.profiles[options.profile] : undefined;
  const accept = profile && !profile.types.includes("*/*") ? profile.types.join(",") : undefined;
  const until = new Date(options.upload.expiresAt).toISOString().slice(11, 16);
  const body = html`
<section aria-labelledby="upload-title" class="stack">
  <h2 id="upload-title">Upload a file</h2>
  ${profileChooser(host, options.profile)}
  <form method="post" action="${options.post.url}" enctype="multipart/form-data" class="stack">
    ${Object.entries(options.post.fields).map(
      ([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`,
    )}
    <label for="file">File (${profile ? limits(profile) : options.profile})</label>
    <input id="file" name="file" type="file" required ${accept ? html`accept="${accept}"` : ""}>
    <button type="submit">Upload</button>
  </form>
  <p class="hint">The file goes straight to storage. This form is valid until ${until} UTC; reload the page for a new one.</p>
</section>`;
  return page(host, { body, signedIn: true });
}

/** The state of an upload after storage redirected back (or after a refresh). */
export function resultPage(host: PageHost, upload: FormUpload, self: string): Response {
  const name = upload.name || "Your file";
  const again = html`<p><a href="/form">Upload another file</a></p>`;
  let body: Html;
  if (upload.state === "ready") {
    body = html`
<h2 id="result-title">Uploaded</h2>
<p><strong class="name">${name}</strong> (${formatSize(upload.size)}, ${upload.type}) is <span class="state">ready</span>.</p>
<p><a href="/form/download?file=${encodeURIComponent(upload.id)}">Download ${name}</a></p>`;
  } else if (upload.state === "rejected") {
    body = html`
<h2 id="result-title">Not accepted</h2>
<p><strong class="name">${name}</strong> was <span class="state">rejected</span>: <span class="reason">${upload.reason ?? "no reason given"}</span>.</p>`;
  } else if (upload.state === "uploaded") {
    body = html`
<h2 id="result-title">Checking</h2>
<p><strong class="name">${name}</strong> is being <span class="state">verified</span>. This page reloads itself; or <a href="${self}">refresh</a>.</p>`;
  } else {
    body = html`
<h2 id="result-title">Not uploaded</h2>
<p>The upload is <span class="state">${upload.state}</span>.</p>`;
  }
  return page(host, {
    body: html`<section aria-labelledby="result-title" class="result stack" role="status" data-state="${upload.state}">${body}${again}</section>`,
    signedIn: true,
    refresh: upload.state === "uploaded" ? 2 : undefined,
  });
}

export function messagePage(
  host: PageHost,
  options: { title: string; message: string; status: number; signedIn?: boolean },
): Response {
  const body = html`
<section aria-labelledby="message-title" class="result stack">
  <h2 id="message-title">${options.title}</h2>
  <p role="alert">${options.message}</p>
  <p><a href="/form">Back to the upload form</a></p>
</section>`;
  return page(host, { body, status: options.status, signedIn: options.signedIn ?? true });
}
