// The API key: kept in sessionStorage only (never a cookie, never a URL the server sees).
// A key in the fragment (#key=...) signs in too; the fragment is never sent to the server.

const STORAGE = "crs.apiKey";

export function getKey() {
  return sessionStorage.getItem(STORAGE);
}

export function setKey(key) {
  sessionStorage.setItem(STORAGE, key.trim());
}

export function clearKey() {
  sessionStorage.removeItem(STORAGE);
}

/** Take a key from `#key=<key>` (optionally `#key=<key>&then=<route>`), then drop it from the
 * address bar and the history so that it is not bookmarked or shared by accident. */
export function takeKeyFromFragment() {
  const match = location.hash.match(/^#key=([^&]*)(?:&then=(.*))?$/);
  if (!match) return false;
  const key = decodeURIComponent(match[1]);
  const then = match[2] ? decodeURIComponent(match[2]) : "/jobs";
  if (key) setKey(key);
  history.replaceState(null, "", `${location.pathname}${location.search}#${then}`);
  return Boolean(key);
}
