// A new sweep from a preset (issue 18): pick the preset, narrow it to some of its architectures
// and depths, set seeds and epochs; every change asks `POST /sweeps?dry_run=true` for the
// children and their estimate, and "Start" sends the same body to `POST /sweeps`.

import { api } from "../api.js";
import { h, notice, replace } from "../dom.js";
import { duration, gridValue, networkName } from "../format.js";

const NARROWING = ["architecture", "depth"]; // the preset fields a grid selects (README, sweeps)

function checks(name, values) {
  const box = h(
    "fieldset",
    { class: "multi", id: `sweep-${name}` },
    h("legend", {}, name),
    values.map((value) =>
      h("label", { class: "inline" }, h("input", { type: "checkbox", value: String(value), checked: true }), ` ${value}`),
    ),
  );
  box.ticked = () =>
    [...box.querySelectorAll("input:checked")].map((input) => values.find((v) => String(v) === input.value));
  return box;
}

export async function sweepForm() {
  const { presets } = await api("/sweeps/presets");
  const preset = h("select", { id: "sweep-preset" }, presets.map((p) => h("option", { value: p.name }, p.name)));
  const name = h("input", { id: "sweep-name", type: "text", maxlength: "200", placeholder: "optional" });
  const seeds = h("input", { id: "sweep-seeds", type: "number", min: "1", max: "100", value: "1" });
  const epochs = h("input", { id: "sweep-epochs", type: "number", min: "1" });
  const narrowing = h("div", { class: "sweep-narrowing" });
  const preview = h("div", { class: "sweep-preview", id: "sweep-preview", "aria-live": "polite" });
  const start = h("button", { type: "submit", id: "sweep-start", disabled: true }, "Start sweep");
  let boxes = {};
  let asked = 0;
  let timer = null;

  function chosen() {
    return presets.find((p) => p.name === preset.value);
  }

  function showPreset() {
    const p = chosen();
    boxes = {};
    for (const field of NARROWING) {
      const values = [...new Set(p.configurations.map((c) => c[field]).filter((v) => v !== undefined))];
      if (values.length > 1) boxes[field] = checks(field, values);
    }
    epochs.placeholder = String(p.base.epochs ?? "");
    replace(narrowing, Object.values(boxes), h("p", { class: "muted" }, p.description));
    changed();
  }

  function body() {
    const request = { preset: preset.value, seeds: Number(seeds.value) || 1 };
    if (name.value.trim()) request.name = name.value.trim();
    if (epochs.value) request.epochs = Number(epochs.value);
    const grid = {};
    for (const [field, box] of Object.entries(boxes)) {
      const ticked = box.ticked();
      if (ticked.length < box.querySelectorAll("input").length) grid[field] = ticked;
    }
    if (Object.keys(grid).length) request.grid = grid;
    return request;
  }

  function changed() {
    start.disabled = true;
    clearTimeout(timer);
    timer = setTimeout(ask, 250);
  }

  async function ask() {
    const mine = ++asked;
    try {
      const answer = await api("/sweeps?dry_run=true", { method: "POST", body: body() });
      if (mine !== asked) return;
      replace(preview, summary(answer), childTable(answer));
      start.disabled = answer.count === 0;
    } catch (error) {
      if (mine !== asked) return;
      replace(preview, h("div", { class: "form-error", role: "alert" }, error.message,
        h("ul", {}, (error.fields || []).map((f) => h("li", {}, `${f.field}: ${f.reason}`)))));
    }
  }

  async function submit(event) {
    event.preventDefault();
    start.disabled = true;
    try {
      const sweep = await api("/sweeps", { method: "POST", body: body() });
      notice(`Sweep started: ${sweep.progress.total} jobs queued.`);
      location.hash = `#/sweeps/${sweep.id}`;
    } catch (error) {
      notice(error.message, "error");
      start.disabled = false;
    }
  }

  for (const input of [name, seeds, epochs]) input.addEventListener("input", changed);
  narrowing.addEventListener("change", changed);
  preset.addEventListener("change", showPreset);
  const form = h(
    "form",
    { class: "sweep-form", id: "sweep-form", onsubmit: submit },
    h("div", { class: "sweep-fields" },
      h("label", {}, "preset ", preset),
      h("label", {}, "name ", name),
      h("label", {}, "seeds ", seeds),
      h("label", {}, "epochs ", epochs)),
    narrowing,
    preview,
    start,
  );
  showPreset();
  return form;
}

function summary(answer) {
  const times = answer.estimates.map(
    (e) => `${duration(e.seconds)} on ${e.device} (${e.precision})` +
      (e.children_estimated < answer.count ? `, ${e.children_estimated} of ${answer.count} estimated` : ""),
  );
  return h(
    "p",
    { id: "sweep-total" },
    h("strong", {}, `${answer.count} jobs`),
    ` · ${answer.training_flops.toExponential(2)} training FLOPs · `,
    times.length ? `one after another: ${times.join("; ")}` : "no time estimate until a worker has measured its speed",
  );
}

function childTable(answer) {
  const columns = answer.varying;
  return h(
    "div",
    { class: "table-wrap" },
    h("table", { id: "sweep-preview-children" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "network"), columns.map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, answer.children.map((child) =>
        h("tr", {},
          h("td", {}, networkName(child.spec.architecture, child.spec.depth)),
          columns.map((c) => h("td", {}, gridValue(child.point[c]))))))),
  );
}
