// The one way pages are written: a tagged template that escapes every value
// it is given, unless the value is itself an Html made by this template.
// Stored data (response snippets, payloads, webhook names, URLs) is
// attacker-controlled; there is no raw() escape hatch for it.

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"'`]/g, (c) => ESCAPES[c]);
}

/** Markup this module made: inserted as it is into another template. */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

type Value = Html | string | number | boolean | null | undefined | readonly Value[];

function render(v: Value): string {
  if (v === null || v === undefined || v === false) return '';
  if (v instanceof Html) return v.value;
  if (Array.isArray(v)) return v.map(render).join('');
  return escapeHtml(String(v));
}

/** html`<p>${userText}</p>`: values are escaped; Html values and arrays of them are inserted. */
export function html(strings: TemplateStringsArray, ...values: Value[]): Html {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1];
  return new Html(out);
}

/** Joins fragments (already Html) without a separator. */
export const join = (parts: readonly Html[]): Html => new Html(parts.map((p) => p.value).join(''));
