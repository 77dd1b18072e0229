// The service's words, read from its published schema (/openapi.json), never listed here: the
// job statuses in their order and which of them are final (the `x-final` the API adds to the
// JobStatus enum; core/vocabulary.py is their one source). Filled once, before the first page.

export const STATUSES = [];
export const FINAL = new Set();

export async function loadVocabulary() {
  const response = await fetch("/openapi.json", { cache: "no-store" });
  if (!response.ok) throw new Error(`the API's schema could not be read (${response.status})`);
  const status = (await response.json()).components.schemas.JobStatus;
  STATUSES.splice(0, STATUSES.length, ...status.enum);
  FINAL.clear();
  for (const one of status["x-final"]) FINAL.add(one);
}
