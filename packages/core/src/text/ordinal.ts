/**
 * Orders strings by their UTF-16 code units, as `<` does: a total order (two strings tie only when
 * they are the same), the same in every locale. For orders that machines rely on (lock order, days,
 * stable API output). `localeCompare` is for people: it treats distinct strings as equal (control
 * and other ignorable characters, canonically equivalent accents), and its first call maps ICU's
 * collation data into the process (about 8 MiB of resident memory).
 */
export function compareOrdinal(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
