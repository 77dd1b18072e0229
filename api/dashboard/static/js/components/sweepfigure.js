// A sweep's Figure 6 as the API draws it (GET /sweeps/{id}/figure, matplotlib): fetched with the
// key in the Authorization header and shown through an object URL, because an <img src> cannot
// send a header and the key must never be put in a URL (logs, history, Referer).

import { fetchRaw } from "../api.js";
import { h, replace } from "../dom.js";

const ALT =
  "Figure 6 of this sweep: error (%) against epochs, one panel per architecture, train dashed, " +
  "test solid, one colour per depth, the spread over seeds as a band";

export class SweepFigure {
  constructor(box, sweepId) {
    this.box = box;
    this.path = `/sweeps/${sweepId}/figure`;
    this.url = null;
  }

  /** Text in place of the figure (none drawn yet, or the API's reason it could not be). */
  message(text, kind = "muted") {
    this.#drop();
    replace(this.box, h("p", { class: kind, id: "figure-message" }, text));
  }

  /** Read the figure again (a run has ended); the old one stays until the new one has loaded. */
  async load() {
    let blob;
    try {
      blob = await (await fetchRaw(`${this.path}?format=svg`)).blob();
    } catch (error) {
      if (error.name !== "AbortError") this.message(error.message, "form-error");
      return;
    }
    const url = URL.createObjectURL(blob);
    const img = h("img", { id: "sweep-figure-img", alt: ALT });
    const shown = await new Promise((resolve) => {
      img.addEventListener("load", () => resolve(true), { once: true });
      img.addEventListener("error", () => resolve(false), { once: true });
      img.src = url;
    });
    if (this.destroyed || !shown) {
      URL.revokeObjectURL(url);
      if (!shown && !this.destroyed) this.message("The browser could not show the figure the API sent.", "form-error");
      return;
    }
    this.#drop();
    this.url = url;
    replace(this.box, img);
  }

  #drop() {
    if (this.url) URL.revokeObjectURL(this.url);
    this.url = null;
  }

  destroy() {
    this.destroyed = true;
    this.#drop();
  }
}
