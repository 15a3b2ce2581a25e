/** The share dialog: create a link (expiry, maximum downloads), copy it, revoke it. */
import type { ShareLink, SluiceClient } from "@sluice/client/browser";

export function shareDialog(client: SluiceClient) {
  const dialog = byId<HTMLDialogElement>("share");
  const form = byId<HTMLFormElement>("share-form");
  const result = byId<HTMLElement>("share-result");
  const url = byId<HTMLInputElement>("share-url");
  const status = byId<HTMLElement>("share-status");
  const create = byId<HTMLButtonElement>("share-create");
  let fileId = "";
  let link: ShareLink | undefined;

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const max = byId<HTMLInputElement>("share-max").valueAsNumber;
    create.disabled = true;
    status.textContent = "Creating link…";
    try {
      link = await client.share(fileId, {
        expiresIn: Number(byId<HTMLSelectElement>("share-expiry").value),
        ...(Number.isInteger(max) && max > 0 ? { maxDownloads: max } : {}),
      });
      url.value = link.url;
      result.hidden = false;
      status.textContent = `Link created${link.expiresAt ? `, expires ${new Date(link.expiresAt).toLocaleString()}` : ""}.`;
      url.focus();
      url.select();
    } catch (error) {
      status.textContent = `Could not create the link: ${(error as Error).message}`;
    } finally {
      create.disabled = false;
    }
  });

  byId("share-copy").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(url.value);
      status.textContent = "Link copied.";
    } catch {
      url.select();
      status.textContent = "Press Ctrl+C (⌘C) to copy the selected link.";
    }
  });

  byId("share-revoke").addEventListener("click", async () => {
    if (!link) return;
    try {
      await client.revoke(link.id);
      status.textContent = "Link revoked: it no longer works.";
      result.hidden = true;
      link = undefined;
    } catch (error) {
      status.textContent = `Could not revoke the link: ${(error as Error).message}`;
    }
  });

  byId("share-close").addEventListener("click", () => dialog.close());

  return {
    open(file: { id: string; name: string }) {
      fileId = file.id;
      link = undefined;
      byId("share-name").textContent = file.name;
      result.hidden = true;
      status.textContent = "";
      url.value = "";
      dialog.showModal();
    },
  };
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} missing from the page`);
  return element as T;
}
