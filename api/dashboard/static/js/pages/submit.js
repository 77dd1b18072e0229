// Submit: one form field per field of POST /jobs, from the API's schema, pre-filled with the
// API's defaults; presets for the paper's two recipes; the API's field errors beside the fields.

import { api, openapi } from "../api.js";
import { estimatePanel } from "../components/estimate.js";
import { parseValue, requestFields } from "../components/specform.js";
import { h, notice } from "../dom.js";
import { errorPct, jobName, shortId } from "../format.js";

// The fields the API requires without a default: the paper's ResNet-20 and its 164 epochs.
const STARTING = { architecture: "resnet", depth: 20, epochs: 164 };

// He et al. 2016, section 4.2, and the step schedule the service also offers (#2).
const PRESETS = {
  paper: { label: "the paper's recipe (164 epochs, lr /10 at 50 % and 75 %)", values: { epochs: 164, lr_schedule: "multistep" } },
  step: { label: "the step recipe (250 epochs, lr halved every 20)", values: { epochs: 250, lr_schedule: "step" } },
};
// What a preset leaves alone: which network, on what data, from where.
const IDENTITY = new Set(["architecture", "depth", "dataset", "shortcut", "train_mode", "init_from", "seed"]);

async function succeededJobs() {
  const jobs = [];
  let cursor = null;
  for (let page = 0; page < 5; page++) {
    const query = new URLSearchParams({ status: "succeeded", limit: "100" });
    if (cursor) query.set("cursor", cursor);
    const answer = await api(`/jobs?${query}`);
    jobs.push(...answer.jobs);
    cursor = answer.next_cursor;
    if (!cursor) break;
  }
  return jobs;
}

export async function submitPage(view, { params }) {
  const [schema, donors, datasets] = await Promise.all([openapi(), succeededJobs(), api("/datasets")]);
  const fields = requestFields(schema);
  const inputs = new Map();
  const errors = new Map();

  function control(field) {
    const id = `field-${field.name}`;
    const describedBy = `${id}-help ${id}-error`;
    let input;
    if (field.kind === "choice") {
      input = h("select", { id, name: field.name, "aria-describedby": describedBy },
        field.choices.map((choice) => h("option", { value: String(choice) }, String(choice))));
    } else if (field.kind === "multi") {
      // A group of check boxes; its value is the list of those ticked.
      input = h(
        "fieldset",
        { id, class: "multi", "aria-describedby": describedBy },
        h("legend", { class: "sr-only" }, field.label),
        field.choices.map((choice) =>
          h("label", { class: "inline" }, h("input", { type: "checkbox", value: String(choice) }), ` ${choice}`),
        ),
      );
      input.pick = () => [...input.querySelectorAll("input:checked")].map((box) => box.value);
      input.put = (values) => {
        for (const box of input.querySelectorAll("input")) box.checked = (values || []).includes(box.value);
      };
    } else if (field.name === "dataset") {
      // The built-in data sets and your ready uploads (issue 19), by id.
      input = h("select", { id, name: field.name, "aria-describedby": describedBy },
        datasets.builtin.map((d) => h("option", { value: d.name }, d.name)),
        datasets.uploads.filter((d) => d.status === "ready").map((d) =>
          h("option", { value: d.id }, `${d.name} · ${d.num_classes} classes · ${shortId(d.id)}`)));
    } else if (field.kind === "bool") {
      input = h("input", { id, name: field.name, type: "checkbox", "aria-describedby": describedBy });
    } else if (field.kind === "job") {
      input = h(
        "select",
        { id, name: field.name, "aria-describedby": describedBy },
        h("option", { value: "" }, "none (train from scratch)"),
        donors.map((job) =>
          h(
            "option",
            { value: job.id },
            `${jobName(job.spec)} · ${shortId(job.id)} · test error ${errorPct(job.final_test_accuracy)}`,
          ),
        ),
      );
    } else {
      input = h("input", {
        id,
        name: field.name,
        type: field.kind === "int" || field.kind === "float" ? "number" : "text",
        step: field.step,
        min: field.min,
        max: field.max,
        inputmode: field.kind === "int" ? "numeric" : field.kind === "float" ? "decimal" : null,
        "aria-describedby": describedBy,
      });
    }
    inputs.set(field.name, input);
    const error = h("p", { class: "field-error", id: `${id}-error`, "data-field": field.name });
    errors.set(field.name, error);
    const bounds = [
      field.min !== undefined ? `min ${field.min}` : null,
      field.max !== undefined ? `max ${field.max}` : null,
    ].filter(Boolean);
    return h(
      "div",
      { class: `field kind-${field.kind}`, "data-field": field.name },
      h("label", { for: id }, field.label, field.required ? h("span", { class: "req", title: "required" }, " *") : null),
      input,
      h("p", { class: "help", id: `${id}-help` }, field.help, bounds.length ? ` (${bounds.join(", ")})` : ""),
      error,
    );
  }

  function set(name, value) {
    const input = inputs.get(name);
    if (!input) return;
    if (input.put) input.put(value);
    else if (input.type === "checkbox") input.checked = Boolean(value);
    else input.value = value === null || value === undefined ? "" : String(value);
  }

  function fill(overrides, keepIdentity) {
    for (const field of fields) {
      if (keepIdentity && IDENTITY.has(field.name)) continue;
      set(field.name, field.default ?? STARTING[field.name] ?? null);
    }
    for (const [name, value] of Object.entries(overrides)) set(name, value);
  }

  function body() {
    const out = {};
    for (const field of fields) {
      const input = inputs.get(field.name);
      const raw = input.pick ? input.pick() : input.type === "checkbox" ? input.checked : input.value;
      const value = parseValue(field, raw);
      if (value !== undefined) out[field.name] = value;
    }
    return out;
  }

  function clearErrors() {
    for (const [name, error] of errors) {
      error.textContent = "";
      inputs.get(name).removeAttribute("aria-invalid");
    }
    formError.textContent = "";
  }

  const preset = h(
    "select",
    { id: "preset" },
    h("option", { value: "" }, "choose a recipe…"),
    Object.entries(PRESETS).map(([key, one]) => h("option", { value: key }, one.label)),
  );
  preset.addEventListener("change", () => {
    if (PRESETS[preset.value]) {
      fill(PRESETS[preset.value].values, true);
      notice(`Filled in ${PRESETS[preset.value].label}.`);
    }
  });
  const formError = h("div", { class: "form-error", id: "form-error", role: "alert" });
  const button = h("button", { type: "submit", class: "primary", id: "submit-job" }, "Submit job");
  const form = h(
    "form",
    { class: "card spec-form", novalidate: true, id: "job-form" },
    h("h1", {}, "New job"),
    h("div", { class: "field preset" }, h("label", { for: "preset" }, "Preset"), preset,
      h("p", { class: "help" }, "Sets the training recipe; keeps the network, dataset and seed.")),
    formError,
    h("div", { class: "fields" }, fields.map(control)),
    h("div", { class: "actions" }, button,
      h("button", { type: "button", class: "link", onclick: () => fill(STARTING, false) }, "reset to defaults")),
  );
  fill(STARTING, false);
  if (params.get("init_from")) set("init_from", params.get("init_from"));
  // The cost and time of what the form holds, asked again as fields change (issue 18).
  const estimate = estimatePanel(body);
  form.querySelector(".actions").before(estimate.element);
  form.addEventListener("input", estimate.refresh);
  form.addEventListener("change", estimate.refresh);
  estimate.refresh();

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors();
    button.disabled = true;
    try {
      const job = await api("/jobs", { method: "POST", body: body() });
      notice(`Submitted ${jobName(job.spec)} (${shortId(job.id)}).`);
      location.hash = `#/jobs/${job.id}`;
    } catch (error) {
      let first = null;
      const unplaced = [];
      for (const one of error.fields || []) {
        const slot = errors.get(one.field);
        if (slot && one.in === "body") {
          slot.textContent = slot.textContent ? `${slot.textContent}; ${one.reason}` : one.reason;
          inputs.get(one.field).setAttribute("aria-invalid", "true");
          first ??= inputs.get(one.field);
        } else unplaced.push(`${one.field}: ${one.reason}`);
      }
      formError.textContent = first
        ? `The API refused the job; see the marked field${(error.fields || []).length > 1 ? "s" : ""}.${unplaced.length ? ` ${unplaced.join("; ")}` : ""}`
        : error.message;
      (first || formError).focus?.();
    } finally {
      button.disabled = false;
    }
  });
  view.append(form);
  return null;
}
