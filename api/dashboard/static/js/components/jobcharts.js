// A job's three charts, in the paper's style: error (%) with train dashed and test solid (a
// log-scale toggle), loss, and the learning rate (log scale).

import { h } from "../dom.js";
import { columns } from "../curves.js";
import { Chart, percent, plain } from "./chart.js";

const TRAIN = { stroke: "#0072B2", dash: [6, 4], width: 1.5 };
const TEST = { stroke: "#D55E00", width: 2 };

export class JobCharts {
  constructor(parent) {
    const logBox = h("input", { type: "checkbox", id: "log-scale" });
    this.section = h(
      "section",
      { class: "charts", "aria-label": "training curves" },
      h(
        "div",
        { class: "chart-tools" },
        h("h2", {}, "Training curves"),
        h("label", { class: "inline" }, logBox, " log-scale error axis"),
      ),
    );
    const grid = h("div", { class: "chart-grid" });
    this.section.append(grid);
    parent.append(this.section);
    this.error = new Chart(grid, {
      title: "Error (%)",
      yLabel: "error (%)",
      format: percent,
      series: [
        { label: "train error", ...TRAIN },
        { label: "test error", ...TEST },
      ],
    });
    this.loss = new Chart(grid, {
      title: "Loss (cross-entropy)",
      yLabel: "loss",
      format: plain,
      series: [
        { label: "train loss", ...TRAIN },
        { label: "test loss", ...TEST },
      ],
    });
    this.rate = new Chart(grid, {
      title: "Learning rate",
      yLabel: "learning rate",
      format: plain,
      log: true,
      series: [{ label: "learning rate", stroke: "#009E73", width: 2 }],
    });
    this.error.box.id = "chart-error";
    this.loss.box.id = "chart-loss";
    this.rate.box.id = "chart-lr";
    logBox.addEventListener("change", () => this.error.setLog(logBox.checked));
  }

  setRecords(records) {
    const c = columns(records);
    this.error.setData([c.epoch, c.trainError, c.testError]);
    this.loss.setData([c.epoch, c.trainLoss, c.testLoss]);
    this.rate.setData([c.epoch, c.learningRate]);
  }

  destroy() {
    for (const chart of [this.error, this.loss, this.rate]) chart.destroy();
    this.section.remove();
  }
}
