// Sign in by pasting a key; it is checked with GET /jobs and kept in sessionStorage only.

import { api } from "../api.js";
import { h, notice } from "../dom.js";
import { clearKey, setKey } from "../session.js";

export function signinPage(view) {
  const input = h("input", {
    id: "api-key",
    name: "api-key",
    type: "password",
    autocomplete: "off",
    spellcheck: "false",
    required: true,
    "aria-describedby": "key-help",
  });
  const error = h("p", { class: "field-error", id: "key-error", role: "alert" });
  const form = h(
    "form",
    { class: "card signin", novalidate: true },
    h("h1", {}, "Sign in"),
    h("label", { for: "api-key" }, "API key"),
    input,
    h(
      "p",
      { id: "key-help", class: "muted" },
      "Kept in this tab only (sessionStorage), sent as a bearer token to the API. ",
      "`make run` prints one; `python -m ops.keys create <owner>` makes another.",
    ),
    error,
    h("button", { type: "submit", class: "primary" }, "Sign in"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    if (!input.value.trim()) {
      error.textContent = "Paste the key first.";
      input.focus();
      return;
    }
    setKey(input.value);
    try {
      await api("/jobs?limit=1");
    } catch (failure) {
      clearKey();
      error.textContent =
        failure.status === 401 ? "The API does not know this key (or it was revoked)." : failure.message;
      input.focus();
      return;
    }
    notice("Signed in.");
    window.dispatchEvent(new HashChangeEvent("hashchange")); // the page that was asked for
  });
  view.append(form);
  input.focus();
  return null;
}
