// Compare: the selected jobs' curves overlaid, one colour per job, a table of their final and
// best test errors and of the spec fields that differ; or two panels, plain nets beside ResNets,
// as in the paper's Figure 6. The URL holds the selection (#/compare?ids=a,b&layout=fig6).

import { api } from "../api.js";
import { Chart, percent, plain } from "../components/chart.js";
import { badge } from "../components/status.js";
import { h, notice, replace } from "../dom.js";
import { aligned, columns } from "../curves.js";
import { errorPct, jobName, shortId } from "../format.js";
import { FINAL } from "../vocabulary.js";
import { followJob } from "../live.js";
import { colour, repeatDash } from "../palette.js";
import { selected, setSelected } from "../selection.js";

const UUID = /^[0-9a-fA-F-]{36}$/;
const LAYOUTS = { overlay: "overlaid", fig6: "Figure 6: plain nets beside ResNets" };

export async function comparePage(view, { params }) {
  const fromUrl = (params.get("ids") || "").split(",").filter((id) => UUID.test(id));
  const ids = fromUrl.length ? fromUrl : selected();
  const state = {
    layout: LAYOUTS[params.get("layout")] ? params.get("layout") : "overlay",
    train: params.get("train") !== "0",
    charts: [],
    followers: [],
    timer: null,
  };
  if (!ids.length) {
    view.append(
      h("h1", {}, "Compare"),
      h("p", {}, "Tick jobs in the ", h("a", { href: "#/jobs" }, "jobs list"), " and press Compare; the address of this page then holds the selection, to bookmark or share."),
    );
    return null;
  }
  setSelected(ids);
  const loaded = await Promise.all(
    ids.map(async (id) => {
      try {
        const [job, metrics] = await Promise.all([api(`/jobs/${id}`), api(`/jobs/${id}/metrics`)]);
        return { job, records: metrics.records };
      } catch (error) {
        notice(`${shortId(id)}: ${error.message}`, "error");
        return null;
      }
    }),
  );
  const runs = loaded.filter(Boolean);

  const layoutPicker = h(
    "fieldset",
    { class: "inline-choices" },
    h("legend", { class: "sr-only" }, "layout"),
    Object.entries(LAYOUTS).map(([key, label]) =>
      h(
        "label",
        { class: "inline" },
        h("input", {
          type: "radio",
          name: "layout",
          value: key,
          checked: key === state.layout,
          onchange: () => {
            state.layout = key;
            keepInUrl();
            drawCharts();
            drawTable();
          },
        }),
        ` ${label}`,
      ),
    ),
  );
  const trainBox = h("input", {
    type: "checkbox",
    id: "show-train",
    checked: state.train,
    onchange: () => {
      state.train = trainBox.checked;
      keepInUrl();
      drawCharts();
    },
  });
  const chartsBox = h("div", { id: "compare-charts" });
  const tableBox = h("div", { class: "table-wrap", id: "compare-table" });
  view.append(
    h("div", { class: "toolbar" }, h("h1", {}, `Compare ${runs.length} jobs`), layoutPicker,
      h("label", { class: "inline" }, trainBox, " train error (dashed)")),
    chartsBox,
    tableBox,
  );

  function keepInUrl() {
    const query = new URLSearchParams({ ids: runs.map((run) => run.job.id).join(",") });
    if (state.layout !== "overlay") query.set("layout", state.layout);
    if (!state.train) query.set("train", "0");
    history.replaceState(null, "", `#/compare?${query.toString().replaceAll("%2C", ",")}`);
  }

  function label(run) {
    return `${jobName(run.job.spec)} ${shortId(run.job.id)}`;
  }

  function errorSeries(group, colourOf, title, range) {
    const perJob = group.map((run) => columns(run.records));
    const [xs, test] = aligned(perJob, "testError");
    const [, train] = aligned(perJob, "trainError");
    const series = [];
    const data = [xs];
    group.forEach((run, i) => {
      const { stroke, dash } = colourOf(run, i);
      series.push({ label: `${label(run)} test`, stroke, width: 2, dash });
      data.push(test[i]);
      if (state.train) {
        series.push({ label: `${label(run)} train`, stroke, width: 1, dash: [6, 4] });
        data.push(train[i]);
      }
    });
    return { title, yLabel: "error (%)", format: percent, series, data, range };
  }

  function drawCharts() {
    for (const chart of state.charts) chart.destroy();
    state.charts = [];
    replace(chartsBox);
    const specs = [];
    if (state.layout === "fig6") {
      // One colour per depth, the same in both panels; one y range so the panels read together.
      const byDepth = (run) => ({ stroke: colourOf(run), dash: null });
      const highest = Math.max(1, ...runs.flatMap((run) => columns(run.records).testError.concat(state.train ? columns(run.records).trainError : [])));
      const range = [0, Math.min(100, Math.ceil(highest / 5) * 5)];
      const plainNets = runs.filter((run) => run.job.spec.architecture === "plain");
      const residual = runs.filter((run) => run.job.spec.architecture !== "plain");
      specs.push(errorSeries(plainNets, byDepth, "plain networks", range));
      const others = residual.some((run) => run.job.spec.architecture !== "resnet");
      specs.push(errorSeries(residual, byDepth, others ? "ResNets and other nets" : "ResNets", range));
    } else {
      const byJob = (run, i) => ({ stroke: colour(i), dash: repeatDash(i) });
      specs.push(errorSeries(runs, byJob, "Error (%)"));
      const perJob = runs.map((run) => columns(run.records));
      const [xs, loss] = aligned(perJob, "testLoss");
      specs.push({
        title: "Test loss",
        yLabel: "loss",
        format: plain,
        series: runs.map((run, i) => ({ label: label(run), stroke: colour(i), dash: repeatDash(i), width: 2 })),
        data: [xs, ...loss],
      });
    }
    const grid = h("div", { class: `chart-grid ${state.layout === "fig6" ? "two-panel" : ""}` });
    chartsBox.append(grid);
    specs.forEach((spec, i) => {
      const chart = new Chart(grid, spec);
      chart.box.id = `compare-chart-${i}`;
      chart.setData(spec.data);
      state.charts.push(chart);
    });
  }

  // The colour a job has in the charts: its own, or its depth's in the Figure 6 layout.
  function colourOf(run, i) {
    if (state.layout !== "fig6") return colour(i);
    const depths = [...new Set(runs.map((one) => one.job.spec.depth))].sort((a, b) => a - b);
    return colour(depths.indexOf(run.job.spec.depth));
  }

  function drawTable() {
    const keys = Object.keys(runs[0]?.job.spec || {});
    const differing = keys.filter(
      (key) => new Set(runs.map((run) => JSON.stringify(run.job.spec[key]))).size > 1,
    );
    const head = h(
      "tr",
      {},
      h("th", { scope: "col" }, "job"),
      h("th", { scope: "col" }, "status"),
      h("th", { scope: "col", class: "num" }, "final test error"),
      h("th", { scope: "col", class: "num" }, "best test error", h("br"), h("small", {}, "(selected on test set)")),
      differing.map((key) => h("th", { scope: "col" }, key.replaceAll("_", " "))),
      h("th", { scope: "col" }, h("span", { class: "sr-only" }, "remove")),
    );
    const rows = runs.map((run, i) =>
      h(
        "tr",
        { dataset: { id: run.job.id } },
        h("th", { scope: "row" },
          h("span", { class: "swatch", style: { backgroundColor: colourOf(run, i) }, "aria-hidden": "true" }),
          h("a", { href: `#/jobs/${run.job.id}` }, jobName(run.job.spec)),
          h("div", { class: "muted mono" }, shortId(run.job.id))),
        h("td", {}, badge(run.job)),
        h("td", { class: "num" }, errorPct(run.job.final_test_accuracy)),
        h("td", { class: "num" }, run.job.best_on_test_set ? `${errorPct(run.job.best_on_test_set.test_accuracy)} (ep. ${run.job.best_on_test_set.epoch})` : "—"),
        differing.map((key) => h("td", { class: "mono" }, String(run.job.spec[key] ?? "—"))),
        h("td", {}, h("button", {
          type: "button",
          class: "link",
          "aria-label": `remove ${label(run)} from the comparison`,
          onclick: () => {
            const rest = runs.filter((other) => other !== run).map((other) => other.job.id);
            setSelected(rest);
            location.hash = rest.length ? `#/compare?ids=${rest.join(",")}${state.layout === "fig6" ? "&layout=fig6" : ""}` : "#/compare";
          },
        }, "remove")),
      ),
    );
    replace(
      tableBox,
      h("table", { class: "jobs compare" },
        h("caption", {}, differing.length ? `Spec fields that differ: ${differing.join(", ")}` : "The specs are identical."),
        h("thead", {}, head), h("tbody", {}, rows)),
    );
  }

  // Running jobs keep growing here too; redraws are batched.
  function redrawSoon() {
    clearTimeout(state.timer);
    state.timer = setTimeout(() => {
      drawCharts();
      drawTable();
    }, 500);
  }
  for (const run of runs) {
    if (FINAL.has(run.job.status)) continue;
    state.followers.push(
      followJob(run.job.id, {
        onJob: (job) => { run.job = job; redrawSoon(); },
        onRecords: (records) => { run.records = records; redrawSoon(); },
        onRecord: (record) => { run.records = [...run.records, record]; redrawSoon(); },
      }, { epochsShown: run.records.length }),
    );
  }

  keepInUrl();
  drawCharts();
  drawTable();
  return {
    destroy() {
      clearTimeout(state.timer);
      for (const follower of state.followers) follower.stop();
      for (const chart of state.charts) chart.destroy();
    },
  };
}
