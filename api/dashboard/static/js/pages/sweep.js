// One sweep (issue 10): its children live (grid values, status, progress with the ETA, final and
// best test error, each linked to its job page; a run stopped early shows the rung it reached),
// the reproduction report beside the published numbers as runs end, Figure 6 as the API draws
// it; cancel, retry the failed runs (issue 20), and "compare these runs".

import { ApiError, api, download } from "../api.js";
import { confirmDialog } from "../components/confirm.js";
import { bestErrorCell, jobColumnHeadings } from "../components/jobcolumns.js";
import { badge, countBadges, progressBar, sweepProgressBar } from "../components/status.js";
import { SweepFigure } from "../components/sweepfigure.js";
import { reportTable } from "../components/sweepreport.js";
import { h, notice, replace } from "../dom.js";
import { dateTime, gridValue, percentError, shortId, sweepName } from "../format.js";
import { FINAL } from "../vocabulary.js";
import { keepCurrent } from "../live.js";

const JOB_READS = 6; // GET /jobs/{id} at once (a sweep may have 256 children)

export async function sweepPage(view, { match }) {
  const sweepId = match[1].toLowerCase();
  let first;
  try {
    first = await api(`/sweeps/${sweepId}`);
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 404) throw error;
    view.append(
      h("h1", {}, "Sweep not found"),
      h("p", { id: "sweep-missing" }, `There is no sweep ${sweepId} among yours (the API says: ${error.message}).`),
      h("p", {}, h("a", { href: "#/sweeps" }, "All your sweeps")),
    );
    return null;
  }
  const state = {
    sweep: first,
    jobs: new Map(), // child id -> its GET /jobs/{id}: the sweep's view has no ETA or best error
    settled: new Set(), // children read after they ended: nothing more to read
    resultsFor: null, // the ended children the report and the figure were last read for
    loading: null,
    again: false,
    dead: false,
  };
  // The grid's fields, those that differ first: the same columns for the page's life.
  const fields = [...new Set([...first.varying, ...first.children.flatMap((child) => Object.keys(child.point))])];

  const title = h("h1", {}, sweepName(first));
  const countsSlot = h("span", { id: "sweep-counts" });
  const liveMode = h("span", { class: "live-mode", id: "live-mode" });
  const actions = h("div", { class: "actions", id: "sweep-actions" });
  const progressSlot = h("div", { class: "job-progress", id: "sweep-progress" });
  const facts = h("dl", { class: "facts", id: "sweep-facts" });
  const body = h("tbody");
  const reportBody = h("div", { id: "report-body" }, h("p", { class: "muted" }, "Loading the report…"));
  const figureBox = h("div", { class: "sweep-figure", id: "figure-box" });
  const figure = new SweepFigure(figureBox, sweepId);
  const fileName = (suffix) => `sweep-${shortId(sweepId)}-${suffix}`;
  const save = (path, filename) => async () => {
    try {
      const file = await download(path, { filename });
      notice(`Downloaded ${file.name}.`);
    } catch (error) {
      notice(error.message, "error");
    }
  };

  view.append(
    h("div", { class: "toolbar" }, title, countsSlot, h("span", { class: "muted mono" }, sweepId), liveMode),
    actions,
    progressSlot,
    facts,
    h(
      "section",
      { "aria-labelledby": "runs-title" },
      h("h2", { id: "runs-title" }, "Runs"),
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "runs", id: "sweep-children" },
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              fields.map((field) => h("th", { scope: "col" }, field.replaceAll("_", " "))),
              jobColumnHeadings(),
              h("th", { scope: "col" }, "job"),
            ),
          ),
          body,
        ),
      ),
    ),
    h(
      "section",
      { class: "report", id: "sweep-report", "aria-labelledby": "report-title" },
      h(
        "div",
        { class: "toolbar" },
        h("h2", { id: "report-title" }, "Report: this service beside the published numbers"),
        h("button", { type: "button", class: "link", id: "report-csv", onclick: save(`/sweeps/${sweepId}/report?format=csv`, fileName("report.csv")) }, "Download CSV"),
      ),
      reportBody,
    ),
    h(
      "section",
      { id: "sweep-figure", "aria-labelledby": "figure-title" },
      h(
        "div",
        { class: "toolbar" },
        h("h2", { id: "figure-title" }, "Figure 6: error against epochs"),
        h("button", { type: "button", class: "link", id: "figure-png", onclick: save(`/sweeps/${sweepId}/figure?format=png`, fileName("figure6.png")) }, "PNG"),
        h("button", { type: "button", class: "link", id: "figure-svg", onclick: save(`/sweeps/${sweepId}/figure?format=svg`, fileName("figure6.svg")) }, "SVG"),
      ),
      figureBox,
    ),
  );

  const dialog = confirmDialog({
    id: "cancel-dialog",
    title: `Cancel the sweep ${sweepName(first)}?`,
    text: "Its queued runs never start; running ones stop between two batches and keep their metrics. Runs that have ended stay as they are.",
    keep: "Keep it going",
    confirm: "Yes, cancel the sweep",
    confirmId: "confirm-cancel",
    onConfirm: async () => {
      try {
        const answer = await api(`/sweeps/${sweepId}/cancel`, { method: "POST" });
        notice("Sweep cancelled: queued runs will not start; running ones stop between two batches.");
        reload(answer);
      } catch (error) {
        notice(error.message, "error");
      }
    },
  });
  view.append(dialog);

  const unfinished = () => state.sweep.progress.finished < state.sweep.progress.total;

  function drawActions() {
    const { sweep } = state;
    replace(
      actions,
      unfinished() && !sweep.cancel_requested
        ? h("button", { type: "button", id: "cancel-sweep", class: "danger", onclick: () => dialog.showModal() }, "Cancel sweep…")
        : null,
      // Failed and cancelled runs (not stopped ones) run again as new attempts (issue 20).
      sweep.children.some((child) => child.status === "failed" || child.status === "cancelled")
        ? h("button", { type: "button", id: "retry-sweep", onclick: retry }, "Retry failed runs")
        : null,
      sweep.children.length
        ? h("a", { class: "button", id: "compare-runs", href: `#/compare?ids=${sweep.children.map((child) => child.id).join(",")}` }, "Compare these runs")
        : null,
    );
  }

  async function retry() {
    try {
      const answer = await api(`/sweeps/${sweepId}/retry`, { method: "POST" });
      notice(`${answer.retried.length} runs queued again.`);
      reload(answer.sweep);
    } catch (error) {
      notice(error.message, "error");
    }
  }

  function drawFacts() {
    const { sweep } = state;
    const rows = [
      ["preset", sweep.preset ?? "—"],
      ["grid fields that differ", sweep.varying.length ? sweep.varying.join(", ") : "—"],
      ["runs", String(sweep.children.length)],
      ["priority", String(sweep.priority)],
      ["at most running at once", sweep.max_parallel === null ? "no limit of its own" : String(sweep.max_parallel)],
      ["created", dateTime(sweep.created_at)],
    ];
    if (sweep.cancel_requested) rows.push(["cancel", "requested"]);
    replace(facts, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
  }

  function childRow(child) {
    const job = state.jobs.get(child.id);
    // The job as last read, where it agrees with the sweep's newer view; else the sweep's.
    const shown =
      job && job.status === child.status
        ? job
        : { status: child.status, cancel_requested: false, progress: { epochs_done: child.epochs_done, epochs: child.epochs } };
    const idle = FINAL.has(child.status) && child.status !== "succeeded" && !child.epochs_done;
    return h(
      "tr",
      { dataset: { id: child.id, status: child.status } },
      fields.map((field) => h("td", { class: "mono", dataset: { field } }, gridValue(child.point[field]))),
      h("td", {}, badge(shown), stoppedNote(child.early_stopping)),
      h("td", {}, idle ? "—" : progressBar(shown)),
      h("td", { class: "num", dataset: { col: "final" } }, percentError(child.final_test_error)),
      bestErrorCell(job?.best_on_test_set, { dataset: { col: "best" } }),
      h("td", {}, h("a", { href: `#/jobs/${child.id}`, class: "mono" }, `job ${shortId(child.id)}`)),
    );
  }

  // A child stopped early (issue 20): the rung it reached, the rule's reason on hover.
  function stoppedNote(decision) {
    if (!decision) return null;
    const where = decision.rung === null ? `median rule, epoch ${decision.epoch}` : `rung ${decision.rung} (epoch ${decision.rung_epoch})`;
    return h("small", { class: "muted stopped-at", title: decision.reason, dataset: { col: "rung" } }, ` at ${where}`);
  }

  function draw() {
    const { sweep } = state;
    replace(countsSlot, countBadges(sweep.counts));
    replace(progressSlot, sweepProgressBar(sweep));
    drawActions();
    drawFacts();
    const focused = document.activeElement?.closest?.("tr")?.dataset.id;
    replace(
      body,
      sweep.children.length
        ? sweep.children.map(childRow)
        : h("tr", {}, h("td", { colspan: String(fields.length + 5), class: "muted" }, "This sweep has no runs.")),
    );
    if (focused) body.querySelector(`tr[data-id="${focused}"] a`)?.focus();
  }

  // The jobs of running children (each reading: their ETA moves) and of ended ones, once.
  async function readJobs() {
    const wanted = state.sweep.children.filter(
      (child) => child.status === "running" || (FINAL.has(child.status) && child.epochs_done > 0 && !state.settled.has(child.id)),
    );
    for (let i = 0; i < wanted.length && !state.dead; i += JOB_READS) {
      await Promise.all(
        wanted.slice(i, i + JOB_READS).map(async (child) => {
          try {
            const job = await api(`/jobs/${child.id}`);
            state.jobs.set(child.id, job);
            if (FINAL.has(job.status)) state.settled.add(child.id);
          } catch {
            // the sweep's own view of it is shown meanwhile
          }
        }),
      );
      if (!state.dead) draw();
    }
  }

  // The report and the figure change only when a child ends: read them again then.
  async function readResults() {
    const ended = state.sweep.children.filter((child) => FINAL.has(child.status)).map((child) => child.id);
    const key = ended.sort().join(",");
    if (key === state.resultsFor) return;
    state.resultsFor = key;
    const succeeded = state.sweep.children.some((child) => child.status === "succeeded");
    await Promise.all([readReport(), succeeded ? figure.load() : figure.message("The figure appears once a run has finished.")]);
  }

  async function readReport() {
    try {
      const report = await api(`/sweeps/${sweepId}/report`);
      if (state.dead) return;
      replace(
        reportBody,
        reportTable(report) ??
          h("p", { class: "muted", id: "report-empty" }, "No finished runs yet: a row fills in as its configuration's runs finish."),
      );
    } catch (error) {
      state.resultsFor = null; // try again on the next change
      if (!state.dead) replace(reportBody, h("p", { class: "form-error" }, error.message));
    }
  }

  async function load(fresh) {
    state.sweep = fresh ?? (await api(`/sweeps/${sweepId}`));
    if (state.dead) return;
    draw();
    await readJobs();
    if (!state.dead) await readResults();
  }

  // One reading at a time; a change meanwhile reads once more after it.
  function reload(fresh = null) {
    if (state.loading) {
      state.again = true;
      return state.loading;
    }
    state.loading = load(fresh)
      .catch(() => {})
      .finally(() => {
        state.loading = null;
        if (state.again && !state.dead) {
          state.again = false;
          reload();
        } else live.schedule();
      });
    return state.loading;
  }

  draw();
  // Running children move on their own (progress); without a stream, status changes too.
  const live = keepCurrent({ badge: liveMode, unfinished, onChange: () => reload() });
  reload(first);
  return {
    destroy() {
      state.dead = true;
      live.stop();
      figure.destroy();
    },
  };
}
