// Pure (no Node imports): shared by config and workflow code.
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "30s" → 30000; null when the text is not a positive duration. */
export function parseDuration(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  if (!m) return null;
  const unit = UNIT_MS[m[2] ?? ''];
  if (unit === undefined) return null;
  const ms = Math.round(Number(m[1]) * unit);
  return ms > 0 ? ms : null;
}
