// The columns a table of jobs has wherever it lists them (the jobs list, a sweep's runs): status,
// progress, final and best test error, headed once so that the tables read alike and the best
// error's caveat (chosen on the test set itself: optimistic) is worded once.

import { h } from "../dom.js";
import { errorPct } from "../format.js";

/** The headings of the status, progress, final and best test error columns. */
export function jobColumnHeadings() {
  return [
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
  ];
}

/** The best test error cell (a job's `best_on_test_set`, or none yet); attrs: the cell's own. */
export function bestErrorCell(best, attrs = {}) {
  return h(
    "td",
    { class: "num", ...attrs, title: best ? `epoch ${best.epoch}; ${best.description}` : null },
    best ? `${errorPct(best.test_accuracy)} (ep. ${best.epoch})` : "—",
  );
}
