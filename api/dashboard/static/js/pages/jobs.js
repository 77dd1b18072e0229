// Jobs: newest first, a page at a time (the API's cursors), filtered by status, updated live.

import { bestErrorCell, jobColumnHeadings } from "../components/jobcolumns.js";
import { badge, progressBar } from "../components/status.js";
import { api } from "../api.js";
import { h } from "../dom.js";
import { dateTime, duration, errorPct, jobDuration, jobName, shortId, sweepName } from "../format.js";
import { FINAL, STATUSES } from "../vocabulary.js";
import { pagedList } from "../pager.js";
import { selected, setSelected, toggle } from "../selection.js";

let refocusFilter = false; // a keyboard user who changed the filter stays on it
const sweepNames = new Map(); // sweep id -> Promise of its name, read once per page load

/** A link to the sweep a job belongs to, named once GET /sweeps/{id} answers. */
function sweepLink(sweepId) {
  const link = h("a", { href: `#/sweeps/${sweepId}`, class: "muted job-sweep" }, `sweep ${shortId(sweepId)}`);
  if (!sweepNames.has(sweepId)) {
    sweepNames.set(sweepId, api(`/sweeps/${sweepId}`).then(sweepName, () => null));
  }
  sweepNames.get(sweepId).then((name) => {
    if (name) link.textContent = `sweep ${name}`;
  });
  return h("div", {}, link);
}

/** The final test error; while a job runs, its latest epoch's, marked as such. */
function testErrorCell(job) {
  const latest = job.latest_metrics;
  if (job.status === "running" && latest) {
    return h(
      "td",
      { class: "num latest-error", title: "the latest epoch's test error; the run is not over" },
      errorPct(latest.test_accuracy),
      h("br"),
      h("small", { class: "muted" }, `latest, ep. ${latest.epoch}`),
    );
  }
  return h("td", { class: "num" }, errorPct(job.final_test_accuracy));
}

export async function jobsPage(view, { params }) {
  const status = STATUSES.includes(params.get("status")) ? params.get("status") : "";
  const list = pagedList({
    path: "/jobs",
    key: "jobs",
    query: status ? { status } : {},
    row,
    empty: () => h("tr", {}, h("td", { colspan: "8", class: "muted" }, status ? `No ${status} jobs.` : "No jobs yet.")),
    focus: "input",
    // Running rows move on their own (progress); without a stream, status changes too.
    unfinished: (job) => job.status === "running" || job.status === "queued",
    onDraw: updateCompare,
  });

  const filter = h(
    "select",
    { id: "status-filter", "aria-label": "filter by status" },
    h("option", { value: "" }, "all statuses"),
    STATUSES.map((one) => h("option", { value: one, selected: one === status }, one)),
  );
  filter.addEventListener("change", () => {
    refocusFilter = true;
    location.hash = filter.value ? `#/jobs?status=${filter.value}` : "#/jobs";
  });
  const compareButton = h("button", { type: "button", id: "compare-selected" }, "Compare");
  compareButton.addEventListener("click", () => {
    const ids = selected();
    if (ids.length) location.hash = `#/compare?ids=${ids.join(",")}`;
  });
  const clearButton = h("button", { type: "button", class: "link" }, "clear selection");
  clearButton.addEventListener("click", () => {
    setSelected([]);
    list.draw();
  });

  view.append(
    h(
      "div",
      { class: "toolbar" },
      h("h1", {}, "Jobs"),
      h("label", { for: "status-filter", class: "sr-only" }, "Status"),
      filter,
      compareButton,
      clearButton,
      list.badge,
      h("a", { href: "#/submit", class: "button primary" }, "New job"),
    ),
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "jobs", id: "jobs-table" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            h("th", { scope: "col" }, h("span", { class: "sr-only" }, "compare")),
            h("th", { scope: "col" }, "job"),
            jobColumnHeadings(),
            h("th", { scope: "col" }, "created"),
            h("th", { scope: "col", class: "num" }, "duration"),
          ),
        ),
        list.body,
      ),
    ),
    list.controls,
  );

  function row(job) {
    const ids = selected();
    const box = h("input", {
      type: "checkbox",
      class: "pick",
      "aria-label": `compare ${jobName(job.spec)} ${shortId(job.id)}`,
      checked: ids.includes(job.id),
      dataset: { id: job.id },
    });
    box.addEventListener("change", () => {
      toggle(job.id, box.checked);
      updateCompare();
    });
    return h(
      "tr",
      { dataset: { id: job.id, status: job.status } },
      h("td", {}, box),
      h(
        "td",
        {},
        h("a", { href: `#/jobs/${job.id}` }, jobName(job.spec)),
        h("div", { class: "muted mono" }, shortId(job.id)),
        job.sweep_id ? sweepLink(job.sweep_id) : null,
      ),
      h("td", {}, badge(job)),
      h("td", {}, FINAL.has(job.status) && job.status !== "succeeded" && !job.progress.epochs_done ? "—" : progressBar(job)),
      testErrorCell(job),
      bestErrorCell(job.best_on_test_set),
      h("td", {}, dateTime(job.created_at)),
      h("td", { class: "num" }, duration(jobDuration(job))),
    );
  }

  function updateCompare() {
    const count = selected().length;
    compareButton.textContent = `Compare (${count})`;
    compareButton.disabled = count === 0;
    clearButton.hidden = count === 0;
  }

  await list.start();
  if (refocusFilter) filter.focus();
  refocusFilter = false;
  return {
    destroy() {
      list.stop();
    },
  };
}
