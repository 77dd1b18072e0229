// One job: spec, status, attempts, live progress, curves growing epoch by epoch, the event log,
// per-class results and confusion matrix once it has succeeded; download and cancel; the sweep
// it belongs to, if any.

import { api, download, fetchRaw } from "../api.js";
import { confirmDialog } from "../components/confirm.js";
import { confusionMatrix, perClassAccuracy } from "../components/heatmap.js";
import { JobCharts } from "../components/jobcharts.js";
import { badge, progressBar } from "../components/status.js";
import { h, notice, replace } from "../dom.js";
import { dateTime, duration, errorPct, jobDuration, jobName, sweepName } from "../format.js";
import { FINAL } from "../vocabulary.js";
import { followJob } from "../live.js";
import { selected, toggle } from "../selection.js";

const LOG_LIMIT = 300;

export async function jobPage(view, { match }) {
  const jobId = match[1].toLowerCase();
  const [job, metrics] = await Promise.all([api(`/jobs/${jobId}`), api(`/jobs/${jobId}/metrics`)]);
  const state = { job, records: metrics.records, within: null, progressEvent: null, reportShown: false };

  const title = h("h1", {}, jobName(job.spec));
  const badgeSlot = h("span");
  const actions = h("div", { class: "actions" });
  const progressSlot = h("div", { class: "job-progress", id: "job-progress" });
  const facts = h("dl", { class: "facts", id: "job-facts" });
  const liveMode = h("span", { class: "live-mode", id: "live-mode" });
  const sweepSlot = h("span", { id: "job-sweep" });
  const results = h("section", { class: "results", id: "results", "aria-label": "results" });
  const report = h("section", { class: "report", id: "report" });
  const log = h("ol", { class: "event-log", id: "event-log", reversed: true });

  view.append(
    h("div", { class: "toolbar" }, title, badgeSlot, h("span", { class: "muted mono" }, jobId), liveMode, sweepSlot),
    actions,
    progressSlot,
    facts,
  );
  // The curves first (what a person came for), the long spec folded away below them.
  const charts = new JobCharts(view);
  view.append(
    h("details", { class: "spec-details", id: "spec-details" }, h("summary", {}, `Spec (${specRows(job.spec).length} values)`), specTable(job.spec)),
    results,
    report,
    h("section", { class: "log" }, h("h2", {}, "Event log"), log),
  );

  const dialog = confirmDialog({
    id: "cancel-dialog",
    title: `Cancel ${jobName(job.spec)}?`,
    text: "A queued job never runs; a running one stops between two batches and keeps its metrics but gets no weights.",
    keep: "Keep it running",
    confirm: "Yes, cancel the job",
    confirmId: "confirm-cancel",
    onConfirm: async () => {
      try {
        const answer = await api(`/jobs/${jobId}/cancel`, { method: "POST" });
        notice(answer.status === "cancelled" ? "Cancelled." : "Cancel requested; it stops between two batches.");
        addLog({ type: "cancel", data: { requested: true } });
        state.job = answer;
        draw();
      } catch (error) {
        notice(error.message, "error");
      }
    },
  });
  view.append(dialog);

  function drawActions() {
    const current = state.job;
    const picked = selected().includes(jobId);
    replace(
      actions,
      h(
        "button",
        {
          type: "button",
          id: "download-weights",
          disabled: current.status !== "succeeded",
          title: current.status === "succeeded" ? null : "weights exist once the job has succeeded",
          onclick: async () => {
            try {
              const file = await download(`/jobs/${jobId}/weights`);
              notice(`Downloaded ${file.name} (${(file.size / 1e6).toFixed(2)} MB).`);
            } catch (error) {
              notice(error.message, "error");
            }
          },
        },
        "Download weights",
      ),
      FINAL.has(current.status) || current.cancel_requested
        ? null
        : h("button", { type: "button", id: "cancel-job", class: "danger", onclick: () => dialog.showModal() }, "Cancel job…"),
      h(
        "button",
        {
          type: "button",
          "aria-pressed": String(picked),
          onclick: () => {
            toggle(jobId, !picked);
            drawActions();
          },
        },
        picked ? "✓ in comparison" : "Add to comparison",
      ),
      current.status === "succeeded" ? h("a", { class: "button", href: `#/submit?init_from=${jobId}` }, "Start a job from these weights") : null,
    );
  }

  function draw() {
    const current = state.job;
    replace(badgeSlot, badge(current));
    replace(progressSlot, progressBar(current, current.status === "running" ? state.within : null));
    const best = current.best_on_test_set;
    const rows = [
      ["status", current.cancel_requested && current.status === "running" ? "running (cancel requested)" : current.status],
      ["attempts", String(current.attempts)],
      ["final test error", errorPct(current.final_test_accuracy)],
      ["best test error (selected on the test set)", best ? `${errorPct(best.test_accuracy)} at epoch ${best.epoch}` : "—"],
      ["created", dateTime(current.created_at)],
      ["started", dateTime(current.started_at)],
      ["finished", dateTime(current.finished_at)],
      ["duration", duration(jobDuration(current))],
    ];
    if (current.latest_metrics) rows.push(["throughput", `${Math.round(current.latest_metrics.images_per_second)} images/s`]);
    if (current.error) rows.push(["error", `${current.error.code}: ${current.error.message}`]);
    replace(facts, rows.map(([k, v]) => [h("dt", {}, k), h("dd", { dataset: { fact: k.split(" ")[0] } }, v)]));
    drawActions();
    if (current.status === "succeeded" && current.results && !results.childElementCount) drawResults(current);
    if (current.status === "succeeded" && !state.reportShown) showReport();
  }

  function drawResults(current) {
    // The names come with the results (the data set's own, in label order).
    const names = current.results.classes ?? current.results.per_class_accuracy.map((_, i) => String(i));
    replace(
      results,
      h("h2", {}, "Results on the test set"),
      h(
        "div",
        { class: "results-grid" },
        current.results.per_class_accuracy ? perClassAccuracy(current.results.per_class_accuracy, names) : null,
        current.results.confusion_matrix ? confusionMatrix(current.results.confusion_matrix, names) : null,
      ),
    );
  }

  // The report's error rates are fractions in its JSON; people read them in % (issue 18).
  function reportValue(key, value) {
    if (typeof value !== "number") return value;
    return key.endsWith("_error") ? `${(100 * value).toFixed(2)} %` : +value.toPrecision(5);
  }

  // The evaluation report of issue 11, where the API has it.
  async function showReport() {
    state.reportShown = true;
    let data;
    try {
      data = await (await fetchRaw(`/jobs/${jobId}/report`)).json();
    } catch {
      return; // no report endpoint (404) or none for this job
    }
    const scalars = Object.entries(data).filter(([, v]) => typeof v === "number" || typeof v === "string");
    replace(
      report,
      h("h2", {}, "Evaluation report"),
      h("table", { class: "spec" }, h("tbody", {}, scalars.map(([k, v]) => h("tr", {}, h("th", { scope: "row" }, k.replaceAll("_", " ")), h("td", {}, reportValue(k, v)))))),
      h("details", {}, h("summary", {}, "the whole report (JSON)"), h("pre", {}, JSON.stringify(data, null, 2))),
    );
  }

  // An accuracy in an event (a fraction, "final_test_accuracy 0.965") reads as the test
  // error in %, as everywhere else on the page (issue 18).
  function logValue(key, value) {
    if (key.endsWith("_accuracy") && typeof value === "number") return `${key.slice(0, -"_accuracy".length).replaceAll("_", " ")} error ${errorPct(value)}`;
    return `${key} ${value}`;
  }

  function addLog(event) {
    if (event.type === "progress") return; // shown by the bar, not logged
    const data = event.data && typeof event.data === "object" ? event.data : { value: event.data };
    const when = event.createdAt || new Date().toISOString();
    const summary =
      event.type === "epoch"
        ? `epoch ${data.epoch ?? data.metrics?.epoch}: test error ${errorPct(data.test_accuracy ?? data.metrics?.test_accuracy)}`
        : Object.entries(data)
            .filter(([k, v]) => v !== null && typeof v !== "object" && k !== "created_at" && k !== "job_id")
            // The event's own name is not repeated: "status succeeded", not "status status succeeded".
            .map(([k, v]) => (k === event.type ? String(v) : logValue(k, v)))
            .join(", ");
    const at = Date.parse(when);
    const entry = h("li", { class: `ev ev-${event.type}`, dataset: { at: String(at) } }, h("time", { datetime: when }, dateTime(when)), h("strong", {}, event.type), ` ${summary}`);
    // Newest first, by the event's own time: the history replayed after live events, or live
    // events that overtake it, still land in order.
    const later = [...log.children].find((li) => Number(li.dataset.at) <= at);
    log.insertBefore(entry, later ?? null);
    while (log.childElementCount > LOG_LIMIT) log.lastChild.remove();
  }

  charts.setRecords(state.records);
  draw();
  showSweep(job, sweepSlot);

  const follower = FINAL.has(job.status)
    ? null
    : followJob(
        jobId,
        {
          onJob: (fresh) => {
            state.job = fresh;
            if (fresh.status !== "running") state.within = null;
            draw();
          },
          onRecords: (records) => {
            state.records = records;
            state.within = null;
            charts.setRecords(records);
          },
          onRecord: (record) => {
            state.records = [...state.records, record];
            state.within = null;
            state.job = { ...state.job, progress: { ...state.job.progress, epochs_done: record.epoch }, latest_metrics: record };
            charts.setRecords(state.records);
            draw();
          },
          onProgress: (data) => {
            const done = data.batches_done ?? data.batch;
            const total = data.batches_per_epoch ?? data.batches;
            state.within = Number.isFinite(data.fraction) ? data.fraction : done && total ? done / total : null;
            if (Number.isFinite(data.eta_seconds)) {
              state.job = { ...state.job, progress: { ...state.job.progress, eta_seconds: data.eta_seconds } };
            }
            draw();
          },
          onEvent: addLog,
          onMode: (mode) => {
            liveMode.textContent = { live: "● live", polling: "↻ following (polling)", reconnecting: "reconnecting…" }[mode];
            liveMode.dataset.mode = mode;
          },
        },
        { epochsShown: state.records.length },
      );
  // A finished job: its history, once (the stream replays it and ends), for the event log.
  const history = follower
    ? null
    : followJob(jobId, { onEvent: addLog }, { epochsShown: state.records.length, historyOnly: true });

  return {
    destroy() {
      follower?.stop();
      history?.stop();
      charts.destroy();
    },
  };
}

// An uploaded data set's facts (issue 19: fingerprint, classes, images) are null for the
// built-in data sets: rows of dashes that say nothing, so they are left out there.
const UPLOAD_FACT = /^dataset_/;

function specRows(spec) {
  return Object.entries(spec).filter(([key, value]) => !(value === null && UPLOAD_FACT.test(key)));
}

function specTable(spec) {
  const rows = specRows(spec);
  return h(
    "table",
    { class: "spec", id: "job-spec" },
    h("caption", {}, "Spec (every value the run used)"),
    h(
      "tbody",
      {},
      rows.map(([key, value]) =>
        h("tr", {}, h("th", { scope: "row" }, key.replaceAll("_", " ")), h("td", { class: "mono" }, value === null ? "—" : String(value))),
      ),
    ),
  );
}

// The sweep a child job belongs to (issue 10), as a link back to it: GET /jobs/{id} names it
// (`sweep_id`); its name comes from the sweep.
async function showSweep(job, slot) {
  if (!job.sweep_id) return;
  try {
    const sweep = await api(`/sweeps/${job.sweep_id}`);
    replace(slot, h("a", { href: `#/sweeps/${sweep.id}`, class: "back-link" }, `← part of sweep ${sweepName(sweep)}`));
  } catch {
    // the sweep is gone: no link
  }
}
