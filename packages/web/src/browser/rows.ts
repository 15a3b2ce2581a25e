/**
 * The file list: one row per upload of this session (from the SDK's
 * UploadQueue) or stored file (from GET /v1/files). Rows are created once and
 * updated in place, so keyboard focus survives progress updates.
 */
import type { FileRecord, Progress, QueueItem } from "@sluice/client/browser";
import { formatDuration, formatSize, formatSpeed } from "../format.ts";

export type RowState = QueueItem["state"] | "stored";

export interface Row {
  /** DOM id: "q-<queue key>" or "f-<file id>". */
  id: string;
  name: string;
  size: number;
  type: string;
  state: RowState | FileRecord["state"];
  reason?: string;
  progress?: Progress;
  /** The broker's id once known; actions on stored files use it. */
  fileId?: string;
  queueKey?: string;
  resumed?: boolean;
  /** Interrupted by a reload: it continues when the same file is chosen again. */
  needsFile?: boolean;
  /** When the upload was granted (stored files). */
  createdAt?: string;
}

export type Action = "pause" | "resume" | "cancel" | "download" | "share" | "delete" | "dismiss";

const ACTIONS: Array<{ action: Action; label: string; when: (row: Row) => boolean; danger?: boolean }> = [
  { action: "pause", label: "Pause", when: (r) => r.state === "uploading" },
  { action: "resume", label: "Resume", when: (r) => r.state === "paused" && !r.needsFile },
  { action: "cancel", label: "Cancel", when: (r) => ["queued", "uploading", "paused"].includes(r.state) },
  { action: "download", label: "Download", when: (r) => r.state === "ready" && !!r.fileId },
  { action: "share", label: "Share", when: (r) => r.state === "ready" && !!r.fileId },
  {
    action: "delete",
    label: "Delete",
    when: (r) => !!r.fileId && ["ready", "rejected"].includes(r.state) && !r.queueKey,
    danger: true,
  },
  {
    action: "dismiss",
    label: "Dismiss",
    when: (r) => !!r.queueKey && ["rejected", "failed", "cancelled", "ready"].includes(r.state),
  },
];

const LABELS: Record<string, string> = {
  queued: "Waiting",
  uploading: "Uploading",
  paused: "Paused",
  verifying: "Verifying",
  uploaded: "Verifying",
  pending: "Not finished",
  ready: "Ready",
  rejected: "Rejected",
  failed: "Failed",
  cancelled: "Cancelled",
  aborted: "Cancelled",
  expired: "Expired",
};

export function rowsFromQueue(items: readonly QueueItem[]): Row[] {
  return items.map((item) => ({
    id: `q-${item.key}`,
    name: item.name,
    size: item.size,
    type: item.type,
    state: item.state,
    reason: item.reason,
    progress: item.progress,
    fileId: item.uploadId,
    queueKey: item.key,
    resumed: item.resumed,
    needsFile: item.needsFile,
  }));
}

/** Stored files, newest first, without those the queue shows. */
export function rowsFromFiles(files: FileRecord[], hide: Set<string>): Row[] {
  return files
    .filter((file) => !hide.has(file.id))
    .sort((a, b) => (b.createdAt ?? "").localeCompare(a.createdAt ?? ""))
    .map((file) => ({
      id: `f-${file.id}`,
      name: file.name,
      size: file.size,
      type: file.type,
      state: file.state,
      reason: typeof file.reason === "string" ? file.reason : undefined,
      fileId: file.id,
      createdAt: file.createdAt,
    }));
}

/** Rows whose name contains the filter text (any case); all rows for an empty filter. */
export function filterRows(rows: Row[], text: string): Row[] {
  const needle = text.trim().toLowerCase();
  return needle ? rows.filter((row) => row.name.toLowerCase().includes(needle)) : rows;
}

/** Makes the list show `rows` in order, reusing existing row elements. */
export function renderRows(list: HTMLElement, rows: Row[], thumbnail: (row: Row) => Promise<string> | null) {
  const wanted = new Set(rows.map((r) => r.id));
  for (const child of [...list.children]) if (!wanted.has(child.id)) child.remove();
  let previous: Element | null = null;
  for (const row of rows) {
    let element = list.querySelector<HTMLLIElement>(`#${CSS.escape(row.id)}`);
    if (!element) element = createRow(row);
    updateRow(element, row, thumbnail);
    // Move only rows out of place: moving a node would drop the focus inside it.
    const expectedAfter: Element | null = previous ? previous.nextElementSibling : list.firstElementChild;
    if (expectedAfter !== element) {
      if (previous) previous.after(element);
      else list.prepend(element);
    }
    previous = element;
  }
}

function createRow(row: Row): HTMLLIElement {
  const li = document.createElement("li");
  li.id = row.id;
  li.className = "file";
  li.innerHTML = `
    <div class="thumb" aria-hidden="true"></div>
    <div class="info">
      <p class="name"></p>
      <p class="meta"></p>
      <p class="state"></p>
      <progress max="1" value="0" hidden></progress>
      <p class="detail"></p>
    </div>
    <div class="actions"></div>`;
  const actions = li.querySelector(".actions")!;
  for (const { action, label, danger } of ACTIONS) {
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.action = action;
    button.textContent = label;
    button.hidden = true;
    button.className = danger ? "danger" : "secondary";
    actions.append(button);
  }
  return li;
}

function updateRow(li: HTMLLIElement, row: Row, thumbnail: (row: Row) => Promise<string> | null) {
  li.dataset.state = row.state;
  if (row.fileId) li.dataset.fileId = row.fileId;
  set(li, ".name", row.name);
  const uploaded = row.createdAt ? ` · ${uploadTime(row.createdAt)}` : "";
  set(li, ".meta", `${formatSize(row.size)} · ${row.type || "unknown type"}${uploaded}`);
  const time = li.querySelector(".meta")!;
  if (row.createdAt) time.setAttribute("title", new Date(row.createdAt).toISOString());
  set(li, ".state", stateText(row));

  const bar = li.querySelector("progress")!;
  const moving = ["uploading", "paused", "queued"].includes(row.state) && row.progress;
  bar.hidden = !moving;
  set(li, ".detail", moving ? detail(row.progress!) : "");
  if (moving) {
    bar.max = Math.max(1, row.progress!.total);
    bar.value = row.progress!.bytesSent;
    bar.setAttribute("aria-label", `Upload of ${row.name}`);
  }
  for (const button of li.querySelectorAll<HTMLButtonElement>("button[data-action]")) {
    const spec = ACTIONS.find((a) => a.action === button.dataset.action)!;
    button.hidden = !spec.when(row);
    button.setAttribute("aria-label", `${spec.label} ${row.name}`);
  }
  const thumb = li.querySelector<HTMLElement>(".thumb")!;
  thumb.dataset.ext = (row.name.includes(".") ? row.name.split(".").pop()! : "").slice(0, 4).toUpperCase();
  if (!thumb.firstChild) {
    const source = thumbnail(row);
    if (source) {
      const img = document.createElement("img");
      img.alt = "";
      img.loading = "lazy";
      thumb.append(img);
      source.then((url) => (img.src = url)).catch(() => img.remove());
    }
  }
}

function stateText(row: Row): string {
  const label = LABELS[row.state] ?? row.state;
  if (row.reason) return `${label}: ${row.reason}`;
  if (row.needsFile) return `${label} — choose the file again to resume`;
  return `${label}${row.resumed ? " (resumed)" : ""}`;
}

/** "2026-12-01 14:05" in the browser's time zone: two identical names stay apart by time. */
function uploadTime(iso: string): string {
  const date = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

function detail(progress: Progress): string {
  const parts = [`${formatSize(progress.bytesSent)} of ${formatSize(progress.total)}`];
  if (progress.speed > 0) parts.push(formatSpeed(progress.speed));
  if (progress.eta !== undefined && progress.bytesSent < progress.total)
    parts.push(`${formatDuration(progress.eta)} left`);
  return parts.join(" · ");
}

function set(root: Element, selector: string, text: string) {
  const node = root.querySelector(selector)!;
  if (node.textContent !== text) node.textContent = text;
}
