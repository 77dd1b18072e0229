// A job's status badge and progress bar; a sweep's children counted by status, and its progress.

import { h } from "../dom.js";
import { duration, etaSeconds } from "../format.js";
import { STATUSES } from "../vocabulary.js";

export function badge(job) {
  const label = job.cancel_requested && job.status === "running" ? "cancelling" : job.status;
  return h("span", { class: `badge status-${job.status}`, "data-status": job.status }, label);
}

/** Epochs done of all, with the ETA while running; `within` (0 to 1) is the current epoch's
 * share done, from a progress event, when known. */
export function progressBar(job, within = null) {
  const { epochs_done: done, epochs, batch, batches_per_epoch: perEpoch } = job.progress;
  // GET /jobs/{id} shows the latest progress report inside the epoch (#8), where there is one.
  within ??= job.status === "running" && perEpoch ? batch / perEpoch : null;
  const fraction = Math.min(1, (done + (within ?? 0)) / epochs);
  const eta = job.status === "running" ? etaSeconds(job) : null;
  const text = `${done} / ${epochs} epochs`;
  return h(
    "div",
    { class: "progress-cell" },
    h("progress", { max: "1", value: fraction.toFixed(4), "aria-label": text }),
    h(
      "span",
      { class: "progress-text" },
      text,
      eta !== null && job.status === "running" ? ` · ETA ${duration(eta)}` : null,
    ),
  );
}

/** One badge per status a sweep's children are in (`3 running`), in the lifecycle's order; the
 * same colours as a job's badge, with the word and the count, never the colour alone. */
export function countBadges(counts) {
  const known = STATUSES.filter((status) => counts[status]);
  const others = Object.keys(counts).filter((status) => counts[status] && !STATUSES.includes(status));
  return h(
    "span",
    { class: "badges" },
    [...known, ...others].map((status) =>
      h("span", { class: `badge status-${status}`, dataset: { status, count: counts[status] } }, `${counts[status]} ${status}`),
    ),
  );
}

/** A sweep's progress: the epochs its children have done of all their epochs (a run of 164
 * epochs weighs more than one of 2), and how many of them have ended. */
export function sweepProgressBar(sweep) {
  const { finished, total, epochs_done: done, epochs, fraction } = sweep.progress;
  const text = `${finished} / ${total} runs ended · ${done} / ${epochs} epochs`;
  return h(
    "div",
    { class: "progress-cell" },
    h("progress", { max: "1", value: Math.min(1, fraction).toFixed(4), "aria-label": text }),
    h("span", { class: "progress-text" }, text),
  );
}
