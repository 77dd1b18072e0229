// A list the API hands out a page at a time (GET /jobs, GET /sweeps: newest first, `limit` and
// `next_cursor`), shown a page at a time with Newer/Older and kept current as live.js keepCurrent
// says. The jobs list and the sweeps list were this same code twice; each now gives its rows.

import { api } from "./api.js";
import { h, replace } from "./dom.js";
import { keepCurrent } from "./live.js";

const PAGE_SIZE = 25;

/**
 * A paged, live list of `path`, whose answer holds its items under `key`. query: parameters
 * besides limit and cursor; row(item), empty(): the table's rows; focus: the element of a row
 * that keeps the focus across redraws; unfinished(item): it moves on its own, read again on a
 * timer; onDraw(): after each draw. The page places `badge`, `body` (a tbody) and `controls`,
 * then awaits start().
 */
export function pagedList({ path, key, query = {}, row, empty, focus, unfinished, onDraw }) {
  const state = { cursors: [null], page: 0, items: [], next: null };
  const badge = h("span", { class: "live-mode", id: "live-mode" });
  const body = h("tbody");
  const prev = h("button", { type: "button", id: "prev-page" }, "← Newer");
  const next = h("button", { type: "button", id: "next-page" }, "Older →");
  const pageLabel = h("span", { class: "muted" });
  const controls = h("div", { class: "pager" }, prev, pageLabel, next);
  prev.addEventListener("click", () => go(state.page - 1));
  next.addEventListener("click", () => go(state.page + 1));
  let live = null;

  function draw() {
    const focused = document.activeElement?.closest?.("tr")?.dataset.id;
    replace(body, state.items.length ? state.items.map(row) : empty());
    if (focused) body.querySelector(`tr[data-id="${focused}"] ${focus}`)?.focus();
    prev.disabled = state.page === 0;
    next.disabled = !state.next;
    pageLabel.textContent = `page ${state.page + 1}`;
    onDraw?.();
  }

  async function load() {
    const search = new URLSearchParams({ limit: String(PAGE_SIZE), ...query });
    const cursor = state.cursors[state.page];
    if (cursor) search.set("cursor", cursor);
    const page = await api(`${path}?${search}`);
    state.items = page[key];
    state.next = page.next_cursor;
    state.cursors[state.page + 1] = page.next_cursor;
    draw();
    live?.schedule();
  }

  async function go(page) {
    state.page = Math.max(0, page);
    await load();
    body.closest("table").scrollIntoView({ block: "start" });
  }

  /** Follow the owner's changes and read the first page (on failure, follow no more). */
  async function start() {
    live = keepCurrent({
      badge,
      unfinished: () => state.items.some(unfinished),
      onChange: () => load().catch(() => {}),
      onTimer: () => load().catch(() => live.schedule()),
    });
    try {
      await load();
    } catch (error) {
      live.stop(); // the router gets no page to destroy
      throw error;
    }
  }

  return { badge, body, controls, draw, start, stop: () => live?.stop() };
}
