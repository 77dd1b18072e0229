// A job's status badge and progress bar.

import { h } from "../dom.js";
import { duration, etaSeconds } from "../format.js";

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
