// The bench's Markdown report and its one chart (throughput and p99 over
// the sustained run), as plain SVG: no plotting dependency, and it renders
// wherever the Markdown does.

export interface Window {
  /** Seconds since the sustained run began, at the window's end. */
  t: number;
  per_second: number;
  p99_ms: number | null;
  rss_mb: number;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function chartSvg(windows: Window[], title: string): string {
  const W = 760;
  const H = 300;
  const m = { l: 56, r: 64, t: 34, b: 40 };
  const iw = W - m.l - m.r;
  const ih = H - m.t - m.b;
  const tMax = Math.max(1, ...windows.map((w) => w.t));
  const yMax = niceMax(Math.max(1, ...windows.map((w) => w.per_second)));
  const pMax = niceMax(Math.max(1, ...windows.map((w) => w.p99_ms ?? 0)));
  const x = (t: number) => m.l + (t / tMax) * iw;
  const yL = (v: number) => m.t + ih - (v / yMax) * ih;
  const yR = (v: number) => m.t + ih - (v / pMax) * ih;
  const line = (pts: Array<[number, number]>) => pts.map(([a, b], i) => `${i ? 'L' : 'M'}${a.toFixed(1)},${b.toFixed(1)}`).join(' ');
  const ticks = (max: number) => [0, 0.25, 0.5, 0.75, 1].map((f) => f * max);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`);
  parts.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  parts.push(`<text x="${W / 2}" y="18" text-anchor="middle" font-size="13">${esc(title)}</text>`);
  for (const v of ticks(yMax)) {
    parts.push(`<line x1="${m.l}" x2="${m.l + iw}" y1="${yL(v)}" y2="${yL(v)}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${m.l - 6}" y="${yL(v) + 4}" text-anchor="end" fill="#1f5fbf">${round(v)}</text>`);
  }
  for (const v of ticks(pMax)) parts.push(`<text x="${m.l + iw + 6}" y="${yR(v) + 4}" fill="#c0392b">${round(v)}</text>`);
  for (const f of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(`<text x="${x(f * tMax)}" y="${m.t + ih + 16}" text-anchor="middle">${Math.round(f * tMax)} s</text>`);
  }
  parts.push(`<line x1="${m.l}" x2="${m.l + iw}" y1="${m.t + ih}" y2="${m.t + ih}" stroke="#333"/>`);
  parts.push(`<path d="${line(windows.map((w) => [x(w.t), yL(w.per_second)]))}" fill="none" stroke="#1f5fbf" stroke-width="2"/>`);
  const p99 = windows.filter((w) => w.p99_ms !== null);
  parts.push(`<path d="${line(p99.map((w) => [x(w.t), yR(w.p99_ms!)]))}" fill="none" stroke="#c0392b" stroke-width="2" stroke-dasharray="5 3"/>`);
  parts.push(
    `<text x="14" y="${m.t + ih / 2}" transform="rotate(-90 14 ${m.t + ih / 2})" text-anchor="middle" fill="#1f5fbf">jobs delivered / s</text>`,
  );
  parts.push(
    `<text x="${W - 12}" y="${m.t + ih / 2}" transform="rotate(90 ${W - 12} ${m.t + ih / 2})" text-anchor="middle" fill="#c0392b">p99 submit→receipt (ms), dashed</text>`,
  );
  parts.push(`<text x="${m.l + iw / 2}" y="${H - 6}" text-anchor="middle">time since the start of the sustained run</text>`);
  parts.push('</svg>');
  return parts.join('\n');
}

function niceMax(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const f of [1, 2, 2.5, 5, 10]) if (f * p >= v) return f * p;
  return 10 * p;
}
const round = (v: number) => (v >= 10 ? String(Math.round(v)) : String(Math.round(v * 10) / 10));

/** A Markdown table from rows of cells. */
export function table(head: string[], rows: Array<Array<string | number | null>>): string {
  const cell = (c: string | number | null) => (c === null ? '–' : String(c));
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');
}
