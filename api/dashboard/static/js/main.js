// The dashboard's entry: sign-in, hash routes (#/jobs, #/submit, #/jobs/<id>, #/compare?ids=...,
// #/sweeps, #/sweeps/<id>), one page at a time (each page returns {destroy} to stop its streams
// and charts).

import { setUnauthorizedHandler } from "./api.js";
import { notice, replace } from "./dom.js";
import { comparePage } from "./pages/compare.js";
import { datasetsPage } from "./pages/datasets.js";
import { jobPage } from "./pages/job.js";
import { jobsPage } from "./pages/jobs.js";
import { signinPage } from "./pages/signin.js";
import { submitPage } from "./pages/submit.js";
import { sweepPage } from "./pages/sweep.js";
import { sweepsPage } from "./pages/sweeps.js";
import { clearKey, getKey, takeKeyFromFragment } from "./session.js";
import { loadVocabulary } from "./vocabulary.js";

const ROUTES = [
  [/^\/jobs$/, jobsPage, "jobs"],
  [/^\/submit$/, submitPage, "submit"],
  [/^\/jobs\/([0-9a-fA-F-]{36})$/, jobPage, "jobs"],
  [/^\/compare$/, comparePage, "compare"],
  [/^\/sweeps$/, sweepsPage, "sweeps"],
  [/^\/sweeps\/([0-9a-fA-F-]{36})$/, sweepPage, "sweeps"],
  [/^\/datasets(?:\/([0-9a-fA-F-]{36}))?$/, datasetsPage, "datasets"],
];

const view = document.getElementById("view");
let current = null;
let renderCount = 0;

function route() {
  const hash = location.hash.slice(1) || "/jobs";
  const cut = hash.indexOf("?");
  const path = cut < 0 ? hash : hash.slice(0, cut);
  const params = new URLSearchParams(cut < 0 ? "" : hash.slice(cut + 1));
  return { path, params };
}

async function render() {
  takeKeyFromFragment(); // replaceState: no hashchange follows, so render on
  current?.destroy?.();
  current = null;
  const signedIn = Boolean(getKey());
  document.getElementById("nav").hidden = !signedIn;
  document.getElementById("sign-out").hidden = !signedIn;
  const count = ++renderCount;
  replace(view);
  if (!signedIn) {
    current = signinPage(view);
    return;
  }
  const { path, params } = route();
  const found = ROUTES.map(([pattern, page, nav]) => [path.match(pattern), page, nav]).find(
    ([match]) => match,
  );
  if (!found) {
    location.replace("#/jobs");
    return;
  }
  const [match, page, nav] = found;
  for (const link of document.querySelectorAll("#nav a[data-page]")) {
    if (link.dataset.page === nav) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  try {
    const opened = await page(view, { params, match });
    if (count === renderCount) current = opened;
    else opened?.destroy?.(); // another route rendered meanwhile
  } catch (error) {
    if (count === renderCount) notice(error.message, "error");
  }
}

function signOut() {
  clearKey();
  notice("Signed out; the key was removed from this tab.");
  location.hash = "#/jobs";
  render();
}

setUnauthorizedHandler(() => {
  if (!getKey()) return;
  clearKey();
  notice("The API refused this key (unknown or revoked); paste another.", "error");
  render();
});

document.getElementById("sign-out").addEventListener("click", signOut);
loadVocabulary().then(
  () => {
    window.addEventListener("hashchange", render);
    render();
  },
  (error) => notice(error.message, "error"),
);
