/**
 * The drop-in page's script. Everything upload-related is the SDK's
 * (@sluice/client/browser, served as /assets/sluice-client.js): this file
 * only wires the DOM to a client and an UploadQueue.
 */
import { createClient, type FileRecord, UploadQueue } from "@sluice/client/browser";
import { type Action, filterRows, type Row, renderRows, rowsFromFiles, rowsFromQueue } from "./rows.ts";
import { byId, shareDialog } from "./share-dialog.ts";

/** The token lives for the tab only (sessionStorage), and is sent as a bearer token by the SDK. */
const TOKEN_KEY = "sluice:token";
let token = sessionStorage.getItem(TOKEN_KEY) ?? "";

const client = createClient({ endpoint: location.origin, getToken: () => token });
const queue = new UploadQueue(client, { profile: "default" });
const share = shareDialog(client);
const list = byId<HTMLUListElement>("files");
const filter = byId<HTMLInputElement>("filter");
const status = byId("status");
const thumbnails = new Map<string, Promise<string>>();
let files: FileRecord[] = [];

function render(): void {
  const items = queue.getSnapshot();
  const mine = new Set(items.flatMap((item) => (item.uploadId ? [item.uploadId] : [])));
  const all = [...rowsFromQueue(items).reverse(), ...rowsFromFiles(files, mine)];
  const rows = filterRows(all, filter.value);
  renderRows(list, rows, thumbnail);
  const empty = byId("empty");
  empty.hidden = rows.length > 0;
  empty.textContent = all.length > 0 ? "No file matches the filter." : "No files yet.";
}

/** One render per animation frame, however many progress events arrive. */
let scheduled = false;
const scheduleRender = () => {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(() => {
    scheduled = false;
    render();
  });
};

/**
 * Image thumbnails: the broker's thumb-256 derivative when the profile makes
 * one, else the image itself, through a presigned GET (fetched once per file).
 */
function thumbnail(row: Row): Promise<string> | null {
  if (row.state !== "ready" || !row.fileId || !row.type.startsWith("image/")) return null;
  const id = row.fileId;
  let url = thumbnails.get(id);
  if (!url) {
    url = derivativeUrl(id, "thumb-256").then((found) => found ?? client.download(id).then((d) => d.url));
    thumbnails.set(id, url);
  }
  return url;
}

async function derivativeUrl(id: string, name: string): Promise<string | undefined> {
  const res = await fetch(`/v1/files/${encodeURIComponent(id)}/derivatives/${name}?json`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return res.ok ? ((await res.json()) as { url: string }).url : undefined;
}

/** Uploads a reload (or a closed tab) interrupted come back as paused rows, until their file is chosen again. */
async function restoreInterrupted(): Promise<void> {
  try {
    await queue.restoreInterrupted();
  } catch (error) {
    status.textContent = `Could not list interrupted uploads: ${(error as Error).message}`;
  }
}

async function refreshFiles(): Promise<void> {
  try {
    files = await client.files();
    scheduleRender();
  } catch (error) {
    status.textContent = `Could not list files: ${(error as Error).message}`;
  }
}

// Settled uploads appear in the stored list too: refresh it when one settles.
const settled = new Set<string>();
queue.subscribe(() => {
  for (const item of queue.getSnapshot()) {
    if (["ready", "rejected"].includes(item.state) && !settled.has(item.key)) {
      settled.add(item.key);
      void refreshFiles();
    }
  }
  scheduleRender();
});

function addFiles(picked: FileList | null): void {
  if (!picked || picked.length === 0) return;
  const profile = byId<HTMLSelectElement>("profile").value;
  queue.add(Array.from(picked), { profile });
  status.textContent = `${picked.length} file${picked.length === 1 ? "" : "s"} added.`;
}

async function act(action: Action, row: HTMLElement): Promise<void> {
  const key = row.id.startsWith("q-") ? row.id.slice(2) : undefined;
  const fileId = row.dataset.fileId;
  const name = row.querySelector(".name")?.textContent ?? "";
  switch (action) {
    case "pause":
    case "resume":
    case "cancel":
      if (key) queue[action](key);
      return;
    case "dismiss":
      if (key) queue.remove(key);
      return;
    case "download":
      if (fileId) location.assign((await client.download(fileId)).url);
      return;
    case "share":
      if (fileId) share.open({ id: fileId, name });
      return;
    case "delete":
      if (fileId && confirm(`Delete ${name}? Its share links stop working.`)) {
        await client.remove(fileId);
        status.textContent = `${name} deleted.`;
        await refreshFiles();
      }
  }
}

list.addEventListener("click", (event) => {
  const button = (event.target as Element).closest<HTMLButtonElement>("button[data-action]");
  const row = button?.closest<HTMLElement>("li.file");
  if (!button || !row) return;
  act(button.dataset.action as Action, row).catch((error: Error) => {
    status.textContent = error.message;
  });
});

filter.addEventListener("input", () => scheduleRender());

const picker = byId<HTMLInputElement>("picker");
const profileSelect = byId<HTMLSelectElement>("profile");
/** The picker offers the chosen profile's types (none for a profile that takes any type). */
const applyAccept = () => {
  const types = (profileSelect.selectedOptions[0]?.dataset.types ?? "").split(",").filter(Boolean);
  picker.accept = types.includes("*/*") ? "" : types.join(",");
};
profileSelect.addEventListener("change", applyAccept);
applyAccept();
picker.addEventListener("change", () => {
  addFiles(picker.files);
  picker.value = "";
});

const dropzone = byId("dropzone");
dropzone.addEventListener("dragover", (event) => {
  event.preventDefault();
  dropzone.classList.add("over");
});
dropzone.addEventListener("dragleave", () => dropzone.classList.remove("over"));
dropzone.addEventListener("drop", (event) => {
  event.preventDefault();
  dropzone.classList.remove("over");
  addFiles(event.dataTransfer?.files ?? null);
});

function showWorkspace(signedIn: boolean): void {
  byId("signin").hidden = signedIn;
  byId("workspace").hidden = !signedIn;
  byId("signout").hidden = !signedIn;
}

byId<HTMLFormElement>("signin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = byId("signin-error");
  token = byId<HTMLInputElement>("token").value.trim();
  error.textContent = "";
  try {
    files = await client.files();
  } catch (failure) {
    token = "";
    error.textContent = `Sign-in failed: ${(failure as Error).message}`;
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  showWorkspace(true);
  render();
  picker.focus();
  void restoreInterrupted();
});

byId("signout").addEventListener("click", () => {
  for (const item of queue.getSnapshot()) queue.cancel(item.key);
  sessionStorage.removeItem(TOKEN_KEY);
  location.reload();
});

if (token) {
  showWorkspace(true);
  void refreshFiles();
  void restoreInterrupted();
}
