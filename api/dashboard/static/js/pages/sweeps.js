// Sweeps (issue 10): newest first, a page at a time (the API's cursors), each with its children
// counted by status and its overall progress; updated live as the jobs list is.

import { api } from "../api.js";
import { countBadges, sweepProgressBar } from "../components/status.js";
import { h, replace } from "../dom.js";
import { dateTime, shortId, sweepName } from "../format.js";
import { followOwner } from "../live.js";

const PAGE_SIZE = 25;
const REFRESH_MS = 3000; // progress of running children; status changes come from the stream

export async function sweepsPage(view) {
  const state = { cursors: [null], page: 0, sweeps: [], next: null, timer: null, mode: "connecting" };

  const liveBadge = h("span", { class: "live-mode", id: "live-mode" });
  const body = h("tbody");
  const prev = h("button", { type: "button", id: "prev-page" }, "← Newer");
  const next = h("button", { type: "button", id: "next-page" }, "Older →");
  const pageLabel = h("span", { class: "muted" });
  prev.addEventListener("click", () => go(state.page - 1));
  next.addEventListener("click", () => go(state.page + 1));

  view.append(
    h("div", { class: "toolbar" }, h("h1", {}, "Sweeps"), liveBadge),
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "sweeps", id: "sweeps-table" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            h("th", { scope: "col" }, "sweep"),
            h("th", { scope: "col" }, "runs by status"),
            h("th", { scope: "col" }, "progress"),
            h("th", { scope: "col" }, "created"),
          ),
        ),
        body,
      ),
    ),
    h("div", { class: "pager" }, prev, pageLabel, next),
  );

  function row(sweep) {
    const label = sweepName(sweep);
    return h(
      "tr",
      { dataset: { id: sweep.id } },
      h(
        "td",
        {},
        h("a", { href: `#/sweeps/${sweep.id}` }, label),
        sweep.preset && sweep.preset !== label ? h("div", { class: "muted" }, `preset ${sweep.preset}`) : null,
        h("div", { class: "muted mono" }, shortId(sweep.id)),
      ),
      h("td", {}, countBadges(sweep.counts), sweep.cancel_requested ? h("div", { class: "muted" }, "cancel requested") : null),
      h("td", {}, sweepProgressBar(sweep)),
      h("td", {}, dateTime(sweep.created_at)),
    );
  }

  function draw() {
    const focused = document.activeElement?.closest?.("tr")?.dataset.id;
    replace(
      body,
      state.sweeps.length
        ? state.sweeps.map(row)
        : h(
            "tr",
            {},
            h(
              "td",
              { colspan: "4", class: "muted" },
              "No sweeps yet. A sweep is the paper's grid in one request: ",
              h("code", {}, "POST /sweeps"),
              " (see the ",
              h("a", { href: "/docs#/sweeps", target: "_blank", rel: "noopener" }, "API docs"),
              ").",
            ),
          ),
    );
    if (focused) body.querySelector(`tr[data-id="${focused}"] a`)?.focus();
    prev.disabled = state.page === 0;
    next.disabled = !state.next;
    pageLabel.textContent = `page ${state.page + 1}`;
  }

  async function load() {
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    const cursor = state.cursors[state.page];
    if (cursor) query.set("cursor", cursor);
    const page = await api(`/sweeps?${query}`);
    state.sweeps = page.sweeps;
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

  // Sweeps with children still to end move on their own (progress); without a stream, all do.
  function schedule() {
    clearTimeout(state.timer);
    if (state.dead) return;
    const unfinished = state.sweeps.some((sweep) => sweep.progress.finished < sweep.progress.total);
    if (unfinished || state.mode === "polling") {
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
  try {
    await load();
  } catch (error) {
    live.stop(); // the router gets no page to destroy
    throw error;
  }
  return {
    destroy() {
      state.dead = true;
      live.stop();
      clearTimeout(state.timer);
    },
  };
}
