/**
 * Calendar checks for timestamps written by clients. `new Date()` rolls 2026-02-30 over to
 * March 2nd and takes year 0; PostgreSQL refuses some of what JavaScript takes, with its own
 * error text. Both sides agree on what passes here.
 */
export function isCalendarDate(year: number, month: number, day: number): boolean {
  if (!Number.isInteger(year) || year < 1 || year > 9999 || month < 1 || month > 12 || day < 1) return false;
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  return d.getUTCMonth() === month - 1 && d.getUTCDate() === day;
}

/** Hours 0–23, minutes and seconds 0–59 (no 24:00, no leap second). */
export const isClockTime = (h: number, m: number, s: number): boolean => h >= 0 && h <= 23 && m >= 0 && m <= 59 && s >= 0 && s <= 59;

/**
 * Whether `YYYY-MM-DDTHH:MM:SS[.ffffff]Z` names a real instant: the format alone lets through
 * 2026-02-30, month 99 or year 0, which PostgreSQL refuses with its own error text.
 */
export function isCalendarTimestamp(text: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,6})?Z$/.exec(text);
  if (!m) return false;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  return isCalendarDate(y, mo, d) && isClockTime(h, mi, s);
}
