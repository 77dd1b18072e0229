// Okabe & Ito's colour-blind-safe palette (Color Universal Design, 2008), most distinct first;
// yellow (#F0E442) is left out: too faint on white. Past seven, colours repeat with a dash.

export const COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"];

export function colour(index) {
  return COLOURS[index % COLOURS.length];
}

/** A dash pattern for the index-th series of its colour (solid the first time round). */
export function repeatDash(index) {
  const round = Math.floor(index / COLOURS.length);
  return [null, [1, 3], [8, 3, 1, 3]][round % 3];
}
