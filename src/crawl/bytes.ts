// Size limits are stated in bytes (robots.txt's 500 KiB, the sitemap
// protocol's 50 MiB) while parsers take strings; this measures a string as the
// UTF-8 it came from, without Node's Buffer, so pure modules can use it.

function utf8Length(codePoint: number): number {
  return codePoint < 0x80 ? 1 : codePoint < 0x800 ? 2 : codePoint < 0x10000 ? 3 : 4;
}

/** The longest prefix of `text` that fits in `maxBytes` of UTF-8, and whether anything was cut. */
export function utf8Prefix(text: string, maxBytes: number): { text: string; cut: boolean } {
  // Every UTF-16 unit takes at most 3 bytes (a surrogate pair, 2 units, takes 4).
  if (text.length * 3 <= maxBytes) return { text, cut: false };
  let bytes = 0;
  let i = 0;
  for (let cp = text.codePointAt(i); cp !== undefined; cp = text.codePointAt(i)) {
    const n = utf8Length(cp);
    if (bytes + n > maxBytes) return { text: text.slice(0, i), cut: true };
    bytes += n;
    i += cp > 0xffff ? 2 : 1;
  }
  return { text, cut: false };
}
