/** @param {number | null | undefined} x @param {number} [digits] */
export function num (x, digits = 1) {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—'
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

/** @param {number | null | undefined} x */
export const ratio = (x) => (x === null || x === undefined || !Number.isFinite(x)) ? '—' : `${x < 10 ? x.toFixed(2) : x.toFixed(1)}×`
