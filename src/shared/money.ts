/**
 * Money is summed exactly: amounts are numeric(14, 8) in the database, so every sum is a whole
 * number of 10⁻⁸ USD. SQL sums them as numeric and sends the text; the gateway adds those as
 * BigInt units and turns a total into a JavaScript number only at the edge, through its decimal
 * text, so 65.29380212 is answered as 65.29380212 (the nearest double), never as the float
 * noise of adding partial sums in a different order (65.29380212000001).
 */
export const USD_SCALE = 8;
const UNIT = 10n ** BigInt(USD_SCALE);

/** Units of 10⁻⁸ USD. */
export type UsdUnits = bigint;

const NUMERIC = /^(-)?(\d+)(?:\.(\d*))?$/;

/** numeric text (or a number, or null) → units; digits past the 8th are rounded half away from zero. */
export function usdUnits(v: string | number | null | undefined): UsdUnits {
  if (v === null || v === undefined) return 0n;
  // The sums a question leaves out read as '0' (trace-stats.repository.ts), on every row.
  if (v === '0') return 0n;
  const text = typeof v === 'number' ? v.toFixed(USD_SCALE) : v.trim();
  const m = NUMERIC.exec(text);
  if (!m) throw new Error(`not a decimal amount: ${text.slice(0, 40)}`);
  const frac = m[3] ?? '';
  // One BigInt from the digits with the fraction padded to 8 places ("12.5" → 1250000000n):
  // cheaper than two BigInts, a product and a sum, on every summed row.
  let units = BigInt(m[2]! + (frac.length >= USD_SCALE ? frac.slice(0, USD_SCALE) : frac.padEnd(USD_SCALE, '0')));
  if (frac.length > USD_SCALE && Number(frac[USD_SCALE]) >= 5) units += 1n;
  return m[1] ? -units : units;
}

/** The decimal text of an amount, trailing zeros dropped: "65.29380212", "0", "-1.5". */
export function usdText(u: UsdUnits): string {
  const neg = u < 0n;
  const a = neg ? -u : u;
  const int = a / UNIT;
  const frac = (a % UNIT).toString().padStart(USD_SCALE, '0').replace(/0+$/, '');
  return `${neg ? '-' : ''}${int}${frac ? `.${frac}` : ''}`;
}

/** The double nearest to the exact amount (parsed from its decimal text, so it prints as that text). */
export const usdNumber = (u: UsdUnits): number => Number(usdText(u));
