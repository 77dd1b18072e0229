// Jobs: newest first, a page at a time (the API's cursors), filtered by status, updated live.

import { api } from "../api.js";
import { badge, progressBar } from "../components/status.js";
import { h, replace } from "../dom.js";
import { FINAL, STATUSES, dateTime, duration, errorPct, jobDuration, jobName, shortId } from "../format.js";
import { followOwner } from "../live.js";
import { selected, setSelected, toggle } from "../selection.js";

const PAGE_SIZE = 25;
const REFRESH_MS = 3000; // progress of running jobs; status changes come from the stream
let refocusFilter = false; // a keyboard user who changed the filter stays on it

export async function jobsPage(view, { params }) {
  const status = STATUSES.includes(params.get("status")) ? params.get("status") : "";
  const state = { cursors: [null], page: 0, jobs: [], next: null, timer: null, mode: "connecting" };

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
    draw();
  });
  const liveBadge = h("span", { class: "live-mode", id: "live-mode" });
  const body = h("tbody");
  const prev = h("button", { type: "button", id: "prev-page" }, "← Newer");
  const next = h("button", { type: "button", id: "next-page" }, "Older →");
  const pageLabel = h("span", { class: "muted" });
  prev.addEventListener("click", () => go(state.page - 1));
  next.addEventListener("click", () => go(state.page + 1));

  view.append(
    h(
      "div",
      { class: "toolbar" },
      h("h1", {}, "Jobs"),
      h("label", { for: "status-filter", class: "sr-only" }, "Status"),
      filter,
      compareButton,
      clearButton,
      liveBadge,
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
            h("th", { scope: "col" }, "status"),
            h("th", { scope: "col" }, "progress"),
            h("th", { scope: "col", class: "num" }, "final test error"),
            h(
              "th",
              { scope: "col", class: "num", title: "selected on the test set itself: optimistic" },
              "best test error",
              h("br"),
              h("small", {}, "(selected on test set)"),
            ),
            h("th", { scope: "col" }, "created"),
            h("th", { scope: "col", class: "num" }, "duration"),
          ),
        ),
        body,
      ),
    ),
    h("div", { class: "pager" }, prev, pageLabel, next),
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
    const best = job.best_on_test_set;
    return h(
      "tr",
      { dataset: { id: job.id, status: job.status } },
      h("td", {}, box),
      h(
        "td",
        {},
        h("a", { href: `#/jobs/${job.id}` }, jobName(job.spec)),
        h("div", { class: "muted mono" }, shortId(job.id)),
      ),
      h("td", {}, badge(job)),
      h("td", {}, FINAL.has(job.status) && job.status !== "succeeded" && !job.progress.epochs_done ? "—" : progressBar(job)),
      h("td", { class: "num" }, errorPct(job.final_test_accuracy)),
      h(
        "td",
        { class: "num", title: best ? `epoch ${best.epoch}; ${best.description}` : null },
        best ? `${errorPct(best.test_accuracy)} (ep. ${best.epoch})` : "—",
      ),
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

  function draw() {
    const focused = document.activeElement?.closest?.("tr")?.dataset.id;
    replace(
      body,
      state.jobs.length
        ? state.jobs.map(row)
        : h("tr", {}, h("td", { colspan: "8", class: "muted" }, status ? `No ${status} jobs.` : "No jobs yet.")),
    );
    if (focused) body.querySelector(`tr[data-id="${focused}"] input`)?.focus();
    prev.disabled = state.page === 0;
    next.disabled = !state.next;
    pageLabel.textContent = `page ${state.page + 1}`;
    updateCompare();
  }

  async function load() {
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (status) query.set("status", status);
    const cursor = state.cursors[state.page];
    if (cursor) query.set("cursor", cursor);
    const page = await api(`/jobs?${query}`);
    state.jobs = page.jobs;
    state.next = page.next_cursor;
    state.cursors[state.page + 1] = page.next_cursor;
    draw();
    schedule();
  }

  async function go(page) {
    state.page = Math.max(0, page);
    await load();
    body.closest("table").scrollIntoView({ block: "start" });
  }

  // Running rows move on their own (progress); without a stream, status changes too.
  function schedule() {
    clearTimeout(state.timer);
    if (state.dead) return;
    const running = state.jobs.some((job) => job.status === "running" || job.status === "queued");
    if (running || state.mode === "polling") {
      state.timer = setTimeout(() => load().catch(() => schedule()), REFRESH_MS);
    }
  }

  const live = followOwner({
    onChange: () => load().catch(() => {}),
    onMode: (mode) => {
      state.mode = mode;
      liveBadge.textContent = { live: "● live", polling: "↻ refreshing every 3 s", reconnecting: "reconnecting…" }[mode];
      liveBadge.dataset.mode = mode;
      schedule();
    },
  });
  await load();
  if (refocusFilter) filter.focus();
  refocusFilter = false;
  return {
    destroy() {
      state.dead = true;
      live.stop();
      clearTimeout(state.timer);
    },
  };
}
