// The jobs ticked for comparison, kept across pages of this tab.

const STORAGE = "crs.selection";

export function selected() {
  try {
    return JSON.parse(sessionStorage.getItem(STORAGE) || "[]");
  } catch {
    return [];
  }
}

export function setSelected(ids) {
  sessionStorage.setItem(STORAGE, JSON.stringify([...new Set(ids)]));
}

export function toggle(id, on) {
  const ids = selected().filter((one) => one !== id);
  if (on) ids.push(id);
  setSelected(ids);
  return ids;
}
