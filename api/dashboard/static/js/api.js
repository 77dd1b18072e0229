// The public API, called like any other client: JSON over fetch with the bearer key.

import { getKey } from "./session.js";

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `the API answered ${status}`);
    this.status = status;
    this.code = error.code || "http_error";
    this.fields = error.fields || [];
  }
}

let onUnauthorized = () => {};

/** What to do when the key is refused (the router signs out). */
export function setUnauthorizedHandler(handler) {
  onUnauthorized = handler;
}

function headers(extra = {}) {
  return { Authorization: `Bearer ${getKey()}`, ...extra };
}

async function failure(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (response.status === 401) onUnauthorized();
  return new ApiError(response.status, body);
}

/** A JSON request; resolves to the parsed body, rejects with an ApiError. */
export async function api(path, { method = "GET", body, signal } = {}) {
  const init = { method, headers: headers(), signal, cache: "no-store" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (!response.ok) throw await failure(response);
  return response.status === 204 ? null : response.json();
}

/** The raw response (for downloads). */
export async function fetchRaw(path, { signal } = {}) {
  const response = await fetch(path, { headers: headers(), signal, cache: "no-store" });
  if (!response.ok) throw await failure(response);
  return response;
}

/** Save a file the API sends (weights, a report) through an object URL: a link cannot carry the
 * key. The name is the API's (Content-Disposition), else `filename`, else one made of the path. */
export async function download(path, { filename } = {}) {
  const response = await fetchRaw(path);
  const disposition = response.headers.get("Content-Disposition") || "";
  const named = disposition.match(/filename="?([^";]+)"?/);
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = named ? named[1] : filename || path.split("/").filter(Boolean).join("-");
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return { name: link.download, size: blob.size };
}

let schemaPromise = null;

/** The API's published schema (cached for the page's life). */
export function openapi() {
  schemaPromise ??= fetch("/openapi.json", { cache: "no-store" }).then((response) => {
    if (!response.ok) throw new ApiError(response.status, null);
    return response.json();
  });
  return schemaPromise;
}

/**
 * Server-Sent Events over fetch (EventSource cannot send an Authorization header).
 * Calls onEvent({type, id, data}) for each message; resolves when the server ends the stream,
 * rejects with an ApiError for an error answer or with the network's error.
 */
export async function streamEvents(path, { onEvent, onOpen, signal, lastEventId } = {}) {
  const extra = { Accept: "text/event-stream" };
  if (lastEventId) extra["Last-Event-ID"] = lastEventId;
  const response = await fetch(path, { headers: headers(extra), signal, cache: "no-store" });
  if (!response.ok) throw await failure(response);
  if (onOpen) onOpen();
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let message = { type: "message", id: null, data: [] };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    const lines = buffer.split("\n");
    buffer = lines.pop();
    for (const raw of lines) {
      const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
      if (line === "") {
        if (message.data.length) dispatch(message, onEvent);
        message = { type: "message", id: null, data: [] };
        continue;
      }
      if (line.startsWith(":")) continue; // a keep-alive comment
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let text = colon < 0 ? "" : line.slice(colon + 1);
      if (text.startsWith(" ")) text = text.slice(1);
      if (field === "event") message.type = text;
      else if (field === "data") message.data.push(text);
      else if (field === "id") message.id = text;
    }
  }
}

function dispatch(message, onEvent) {
  const text = message.data.join("\n");
  let data;
  try {
    data = JSON.parse(text);
  } catch {
    data = text;
  }
  // The API sends each event whole ({id, job_id, type, created_at, data}); hand on its data.
  if (data && typeof data === "object" && "data" in data && "type" in data) {
    onEvent({ type: message.type, id: message.id, data: data.data, jobId: data.job_id, createdAt: data.created_at });
  } else onEvent({ type: message.type, id: message.id, data });
}
