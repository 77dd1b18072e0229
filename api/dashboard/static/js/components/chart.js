// A line chart on uPlot (vendored, see vendor/uplot/VERSION): sized to its container, values in
// the legend on hover, and on keyboard focus with the arrow keys (Home/End for the ends).

import uPlot from "../../vendor/uplot/uPlot.esm.js";
import { h } from "../dom.js";

const HEIGHT = 260;
const EPOCH_STEPS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000];

export class Chart {
  /**
   * series: [{label, stroke, dash, width}]; data: [xs, ...ys] (null for a missing value).
   * format(v): a y value as the legend shows it; log: a log10 y axis.
   */
  constructor(parent, { title, xLabel = "epoch", yLabel, series, format, log = false, height, range }) {
    // range: fixed [min, max] of the y axis (panels that must be read against each other).
    this.options = { title, xLabel, yLabel, series, format, height: height || HEIGHT, range };
    this.log = log;
    this.data = [[], ...series.map(() => [])];
    this.box = h("div", {
      class: "chart",
      tabindex: "0",
      role: "group",
      "aria-label": `${title}: chart; arrow keys read the values point by point`,
    });
    parent.append(this.box);
    this.cursorIndex = null;
    this.box.addEventListener("keydown", (event) => this.onKey(event));
    this.box.addEventListener("blur", () => this.plot?.setCursor({ left: -10, top: -10 }));
    this.build();
    this.resizer = new ResizeObserver(() => this.resize());
    this.resizer.observe(this.box);
  }

  width() {
    return Math.max(240, Math.floor(this.box.clientWidth || this.box.parentElement.clientWidth));
  }

  build() {
    this.plot?.destroy();
    const { title, xLabel, yLabel, series, format, height, range } = this.options;
    const linear = range ? { auto: false, range } : { auto: true };
    const show = (u, value) => (value === null || value === undefined ? "—" : format(value));
    const opts = {
      title,
      width: this.width(),
      height,
      scales: { x: { time: false }, y: this.log ? { distr: 3, log: 10 } : linear },
      axes: [
        // Whole epochs only on the x axis.
        { label: xLabel, stroke: "#333", grid: { stroke: "#e4e4e4" }, incrs: EPOCH_STEPS },
        {
          label: yLabel,
          stroke: "#333",
          grid: { stroke: "#e4e4e4" },
          size: 60,
          values: (u, values) => values.map((v) => (v === null ? "" : format(v, true))),
        },
      ],
      series: [
        { label: xLabel, value: (u, v) => (v === null || v === undefined ? "—" : String(v)) },
        ...series.map((one) => ({
          label: one.label,
          stroke: one.stroke,
          width: one.width ?? 2,
          dash: one.dash || undefined,
          spanGaps: true,
          value: show,
          points: { size: 5 },
        })),
      ],
      legend: { live: true },
      cursor: { drag: { x: true, y: false }, focus: { prox: 16 } },
      focus: { alpha: 0.35 },
      hooks: { draw: [() => this.drawn()] },
    };
    this.plot = new uPlot(opts, this.shown(), this.box);
  }

  /** Data as drawn: a log axis cannot show zero or less. */
  shown() {
    if (!this.log) return this.data;
    return this.data.map((column, i) =>
      i === 0 ? column : column.map((v) => (v === null || v <= 0 ? null : v)),
    );
  }

  drawn() {
    // For tests and the benchmark: how many points the chart has drawn.
    this.box.dataset.points = String(this.data[0].length);
  }

  setData(data) {
    this.data = data;
    this.plot.setData(this.shown());
    if (!data[0].length) this.drawn();
  }

  setLog(on) {
    if (on === this.log) return;
    this.log = on;
    this.build();
  }

  resize() {
    const width = this.width();
    if (this.plot && Math.abs(this.plot.width - width) > 2) {
      this.plot.setSize({ width, height: this.options.height });
    }
  }

  onKey(event) {
    const xs = this.data[0];
    if (!xs.length) return;
    const steps = { ArrowLeft: -1, ArrowRight: 1, PageDown: -10, PageUp: 10 };
    let index = this.cursorIndex ?? xs.length - 1;
    if (event.key in steps) index += steps[event.key];
    else if (event.key === "Home") index = 0;
    else if (event.key === "End") index = xs.length - 1;
    else return;
    event.preventDefault();
    index = Math.max(0, Math.min(xs.length - 1, index));
    this.cursorIndex = index;
    const u = this.plot;
    const y = this.data.slice(1).map((column) => column[index]).find((v) => v !== null);
    const top = y === undefined ? u.bbox.height / devicePixelRatio / 2 : u.valToPos(y, "y");
    u.setCursor({ left: u.valToPos(xs[index], "x"), top });
  }

  destroy() {
    this.resizer.disconnect();
    this.plot?.destroy();
    this.box.remove();
  }
}

/** The error axis and legend: percent with one or two decimals. */
export function percent(value, axis = false) {
  return axis ? `${+value.toFixed(2)}` : `${value.toFixed(2)} %`;
}

export function plain(value, axis = false) {
  if (axis) return `${+value.toPrecision(3)}`;
  return Math.abs(value) >= 0.01 || value === 0 ? value.toFixed(4) : value.toExponential(2);
}
