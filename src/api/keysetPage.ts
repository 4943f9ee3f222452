/**
 * A keyset page read with one row more than it shows: the rows to show, and
 * the last of them when that extra row proves more follow (its key is the
 * next page's cursor), else null.
 */
export function keysetPage<T>(rows: readonly T[], limit: number): { page: T[]; last: T | null } {
  const page = rows.slice(0, limit);
  return { page, last: rows.length > limit ? (page.at(-1) ?? null) : null };
}
