// The submit form's estimate (issue 18): POST /jobs/estimate with the form's body, as the
// fields change (debounced; a newer answer replaces an older one): parameters, and the time on
// each device the workers measured, as a duration; or what the API refuses, in one line.

import { api } from "../api.js";
import { h, replace } from "../dom.js";
import { duration } from "../format.js";

const WAIT_MS = 400; // after the last change, before asking

export function estimatePanel(body) {
  const element = h("section", { class: "estimate", id: "estimate", "aria-live": "polite" });
  let timer = null;
  let asked = 0;

  async function ask() {
    const mine = ++asked;
    let answer;
    try {
      answer = await api("/jobs/estimate", { method: "POST", body: body() });
    } catch (error) {
      if (mine !== asked) return;
      const why = (error.fields || []).map((one) => `${one.field}: ${one.reason}`).join("; ");
      replace(element, h("h2", {}, "Estimate"), h("p", { class: "muted" }, `none yet: ${why || error.message}`));
      return;
    }
    if (mine !== asked) return;
    const times = answer.estimates.map((one) =>
      h("li", {}, `${one.device} (${one.precision}): ${duration(one.seconds)}, ${duration(one.seconds_per_epoch)} an epoch`),
    );
    replace(
      element,
      h("h2", {}, "Estimate"),
      h("p", {}, `${answer.trainable_parameters.toLocaleString("en")} parameters`),
      times.length ? h("ul", { id: "estimate-times" }, times) : h("p", { class: "muted" }, answer.method),
    );
  }

  function refresh() {
    clearTimeout(timer);
    timer = setTimeout(ask, WAIT_MS);
  }

  return { element, refresh };
}
