// Sweeps (issue 10): newest first, a page at a time (the API's cursors), each with its children
// counted by status and its overall progress; updated live as the jobs list is (pager.js).

import { countBadges, sweepProgressBar } from "../components/status.js";
import { sweepForm } from "../components/sweepform.js";
import { h } from "../dom.js";
import { dateTime, shortId, sweepName } from "../format.js";
import { pagedList } from "../pager.js";

export async function sweepsPage(view) {
  const list = pagedList({
    path: "/sweeps",
    key: "sweeps",
    row,
    empty,
    focus: "a",
    // Sweeps with children still to end move on their own (progress); without a stream, all do.
    unfinished: (sweep) => sweep.progress.finished < sweep.progress.total,
  });

  view.append(
    h("div", { class: "toolbar" }, h("h1", {}, "Sweeps"), list.badge),
    h("details", { class: "new-sweep", id: "new-sweep" }, h("summary", {}, "New sweep from a preset"), await sweepForm()),
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
        list.body,
      ),
    ),
    list.controls,
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

  function empty() {
    return h(
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
    );
  }

  await list.start();
  return {
    destroy() {
      list.stop();
    },
  };
}
