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
