// A confirmation before something that cannot be undone (cancelling a job or a sweep): a modal
// <dialog> whose safe choice has the focus, so that Enter keeps things as they are.

import { h } from "../dom.js";

export function confirmDialog({ id, title, text, keep, confirm, confirmId, onConfirm }) {
  const dialog = h(
    "dialog",
    { id, "aria-labelledby": `${id}-title` },
    h(
      "form",
      { method: "dialog" },
      h("h2", { id: `${id}-title` }, title),
      h("p", {}, text),
      h(
        "div",
        { class: "actions" },
        h("button", { value: "keep", autofocus: true }, keep),
        h("button", { value: "confirm", class: "danger", id: confirmId }, confirm),
      ),
    ),
  );
  dialog.addEventListener("close", () => {
    if (dialog.returnValue === "confirm") onConfirm();
  });
  return dialog;
}
