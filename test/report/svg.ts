/** The items of one named mark layer in a Vega SVG (the `<name>_marks` group, self-closing when empty), as their tags. */
export function marksOf(svg: string, name: string): string[] {
  const group = svg.match(new RegExp(`<g class="mark-[a-z]+ role-mark ${name}_marks"[^>]*?(/>|>(.*?)</g>)`));
  if (!group) throw new Error(`no ${name}_marks group in the SVG`);
  return group[2]?.match(/<(path|line|rect|text)\b[^>]*>/g) ?? [];
}

/** Where an item of a Vega SVG sits vertically: its `translate(x,y)`, or for a rect (a path from `M x,y`) its top. */
export function yOf(tag: string): number {
  const at = tag.match(/translate\([-\d.]+,([-\d.]+)\)/) ?? tag.match(/\bd="M[-\d.]+,([-\d.]+)/);
  if (!at) throw new Error(`no position in ${tag}`);
  return Number(at[1]);
}

/** What would make a page load anything from elsewhere: URLs in src/href/url(), scripts, imports, links, fetch. */
export function externalReferences(html: string): string[] {
  const patterns = [
    /\b(?:src|href|xlink:href|action|poster|srcset)\s*=\s*["']?\s*(?:https?:)?\/\//gi,
    /<script\b/gi,
    /<link\b/gi,
    /<iframe\b/gi,
    /@import\b/gi,
    /url\(\s*["']?\s*(?:https?:)?\/\//gi,
    /\bfetch\s*\(/gi,
  ];
  return patterns.flatMap((p) => html.match(p) ?? []);
}
