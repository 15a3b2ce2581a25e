/** The drop-in page at `/`: a server-rendered shell that app.js (browser/app.ts) brings to life. */
import type { PageHost } from "@sluice/broker";
import { formatSize } from "./format.ts";
import { documentResponse, html } from "./html.ts";

export function uploadPage(host: PageHost): Response {
  const profiles = Object.entries(host.profiles);
  const body = html`
<header class="bar">
  <h1>Sluice</h1>
  <button type="button" id="signout" class="secondary" hidden>Sign out</button>
</header>
<main>
  <section id="signin" aria-labelledby="signin-title">
    <h2 id="signin-title">Sign in</h2>
    <form id="signin-form" class="stack">
      <label for="token">Access token (API key or JWT)</label>
      <input id="token" name="token" type="password" autocomplete="off" spellcheck="false" required
        value="${host.devToken ?? ""}">
      ${host.devToken ? html`<p class="hint">The development token of this local broker is filled in.</p>` : ""}
      <button type="submit">Sign in</button>
      <p id="signin-error" role="alert" class="error"></p>
    </form>
    <noscript><p>JavaScript is off: use the <a href="/form">plain upload form</a>.</p></noscript>
  </section>

  <section id="workspace" aria-labelledby="upload-title" hidden>
    <h2 id="upload-title" class="visually-hidden">Upload</h2>
    <div class="row">
      <label for="profile">Upload profile</label>
      <select id="profile">
        ${profiles.map(
          ([name, p]) =>
            html`<option value="${name}" data-types="${p.types.join(",")}">${name} (up to ${formatSize(p.maxSize)}; ${p.types.join(", ")})</option>`,
        )}
      </select>
    </div>
    <div id="dropzone" class="dropzone">
      <p>Drop files here, or</p>
      <!-- The input comes first: its :focus-visible draws the ring on the label that follows. -->
      <input id="picker" type="file" multiple class="visually-hidden">
      <label for="picker" class="button">Choose files</label>
    </div>
    <p id="status" role="status" class="hint"></p>

    <h2 id="files-title">Files</h2>
    <div class="row">
      <label for="filter">Filter by name</label>
      <input id="filter" type="search" autocomplete="off" spellcheck="false">
    </div>
    <ul id="files" class="files" aria-labelledby="files-title"></ul>
    <p id="empty" class="hint" hidden>No files yet.</p>
  </section>

  <dialog id="share" aria-labelledby="share-title">
    <form id="share-form" method="dialog" class="stack">
      <h2 id="share-title">Share <span id="share-name"></span></h2>
      <label for="share-expiry">Link expires after</label>
      <select id="share-expiry">
        <option value="3600">1 hour</option>
        <option value="86400" selected>1 day</option>
        <option value="604800">7 days</option>
        <option value="2592000">30 days</option>
      </select>
      <label for="share-max">Maximum downloads (empty: unlimited)</label>
      <input id="share-max" type="number" min="1" max="1000000" inputmode="numeric">
      <button type="submit" id="share-create" value="create">Create link</button>
      <div id="share-result" class="stack" hidden>
        <label for="share-url">Link</label>
        <div class="row">
          <input id="share-url" type="text" readonly>
          <button type="button" id="share-copy">Copy</button>
        </div>
        <button type="button" id="share-revoke" class="danger">Revoke link</button>
      </div>
      <p id="share-status" role="status" class="hint"></p>
      <button type="button" id="share-close" class="secondary">Close</button>
    </form>
  </dialog>
</main>`;
  return documentResponse({ title: "Sluice uploads", body, storageOrigin: host.storageOrigin, script: true });
}
