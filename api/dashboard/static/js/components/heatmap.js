// The confusion matrix as a table whose cells are shaded by the share of their row (a heat map
// that stays readable: the count is in the cell, the share in its title), and the per-class
// accuracy as a table with bars.

import { h } from "../dom.js";

// Sequential ramp from white to Okabe–Ito blue: readable with every kind of colour vision.
function shade(share) {
  const t = Math.sqrt(share); // small confusions stay visible
  const mix = (from, to) => Math.round(from + (to - from) * t);
  return `rgb(${mix(255, 0)}, ${mix(255, 114)}, ${mix(255, 178)})`;
}

export function confusionMatrix(matrix, names) {
  const small = matrix.length > 20; // CIFAR-100: no numbers in the cells
  const head = h(
    "tr",
    {},
    h("th", { scope: "col", class: "corner" }, "true ↓ / predicted →"),
    names.map((name) => h("th", { scope: "col", class: "rot" }, h("span", {}, name))),
  );
  const rows = matrix.map((row, i) => {
    const total = row.reduce((a, b) => a + b, 0) || 1;
    return h(
      "tr",
      {},
      h("th", { scope: "row" }, names[i]),
      row.map((count, j) => {
        const share = count / total;
        const title = `true ${names[i]}, predicted ${names[j]}: ${count} (${(100 * share).toFixed(1)} % of ${names[i]})`;
        return h(
          "td",
          {
            title,
            "aria-label": title,
            class: share > 0.5 ? "dark" : null,
            style: { backgroundColor: shade(share) },
          },
          small ? null : String(count),
        );
      }),
    );
  });
  return h(
    "div",
    { class: `heatmap-wrap${small ? " small" : ""}`, tabindex: "0" },
    h(
      "table",
      { class: "heatmap" },
      h("caption", {}, "Confusion matrix on the test set (shade: share of the true class's row)"),
      h("thead", {}, head),
      h("tbody", {}, rows),
    ),
  );
}

export function perClassAccuracy(accuracies, names) {
  return h(
    "table",
    { class: "per-class" },
    h("caption", {}, "Test accuracy per class"),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "class"), h("th", { scope: "col" }, "accuracy"))),
    h(
      "tbody",
      {},
      accuracies.map((accuracy, i) =>
        h(
          "tr",
          {},
          h("th", { scope: "row" }, names[i]),
          h(
            "td",
            {},
            h("meter", { min: "0", max: "1", value: String(accuracy), "aria-hidden": "true" }),
            ` ${(100 * accuracy).toFixed(1)} %`,
          ),
        ),
      ),
    ),
  );
}
