// A sweep's reproduction report (GET /sweeps/{id}/report): a row per configuration, this
// service's test errors beside the published figure and its source. The API sends fractions;
// the page shows them in % to 2 decimals, as the Markdown report does, so the two never
// disagree (issue 18).

import { h } from "../dom.js";
import { networkName, percent } from "../format.js";

const NONE = "—";

/** The report as a table; null when no run has finished (the page says so instead). */
export function reportTable(report) {
  if (!report.rows.some((row) => row.runs_finished > 0)) return null;
  const unit = "%"; // the JSON's fractions, shown in the paper's unit
  const defs = report.definitions ?? {};
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "report-table", id: "report-table" },
      h(
        "caption",
        {},
        `Test error in ${unit}: mean ± sample standard deviation over the seeds. `,
        defs.final ? `Final: ${defs.final}. ` : null,
        defs.best_on_test_set ? `Best: ${defs.best_on_test_set}. ` : null,
        "* approximate (read off a figure).",
      ),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { scope: "col" }, "network"),
          h("th", { scope: "col" }, "dataset"),
          h("th", { scope: "col", class: "num" }, "runs finished"),
          h("th", { scope: "col", class: "num", title: defs.final }, `final test error (${unit})`),
          h("th", { scope: "col", class: "num" }, `min – max (${unit})`),
          h(
            "th",
            { scope: "col", class: "num", title: defs.best_on_test_set },
            `best test error (${unit})`,
            h("br"),
            h("small", {}, "(selected on test set)"),
          ),
          h("th", { scope: "col", class: "num" }, `published (${unit})`),
          h("th", { scope: "col" }, "source"),
          h("th", { scope: "col", class: "num", title: "final test error minus the published one" }, "difference"),
        ),
      ),
      h("tbody", {}, report.rows.map(reportRow)),
    ),
  );
}

function reportRow(row) {
  const final = row.final_error;
  const best = row.best_on_test_set_error;
  const ref = row.reference;
  const others = Object.entries(row.configuration).filter(([key]) => key !== "architecture" && key !== "depth");
  const network = networkName(row.architecture, row.depth);
  return h(
    "tr",
    { dataset: { architecture: row.architecture, depth: row.depth } },
    h(
      "th",
      { scope: "row" },
      network,
      others.length ? h("div", { class: "muted mono" }, others.map(([k, v]) => `${k}=${v}`).join(", ")) : null,
    ),
    h("td", {}, row.dataset),
    h("td", { class: "num", dataset: { col: "runs" } }, `${row.runs_finished} / ${row.runs_total}`),
    h("td", { class: "num", dataset: { col: "final" } }, spread(final)),
    h("td", { class: "num", dataset: { col: "range" } }, final ? `${percent(final.min)} – ${percent(final.max)}` : NONE),
    h("td", { class: "num", dataset: { col: "best" } }, best ? percent(best.mean) : NONE),
    h(
      "td",
      { class: "num", dataset: { col: "published" }, title: ref ? `${ref.selection} error, as published` : null },
      ref ? `${percent(ref.error)}${ref.approximate ? "*" : ""}` : NONE,
      ref ? h("div", { class: "muted" }, h("small", {}, ref.selection)) : null,
    ),
    h(
      "td",
      { dataset: { col: "source" }, title: ref?.note ?? null },
      ref ? (ref.url ? h("a", { href: ref.url, target: "_blank", rel: "noopener noreferrer", title: ref.title }, ref.source) : ref.source) : NONE,
    ),
    h("td", { class: "num", dataset: { col: "difference" } }, ref && ref.difference !== null ? signed(ref.difference) : NONE),
  );
}

/** `7.12 ± 0.21 (n=3)` (%); one run has no spread to show. */
function spread(value) {
  if (!value) return NONE;
  return value.n > 1 ? `${percent(value.mean)} ± ${percent(value.std)} (n=${value.n})` : percent(value.mean);
}

/** `+0.25`, `-0.34` (percentage points), as the Markdown report writes it. */
function signed(fraction) {
  const shown = percent(fraction);
  return fraction >= 0 ? `+${shown}` : shown;
}
