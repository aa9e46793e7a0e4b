// Small numeric helpers.

/** @param {number[]} xs sorted ascending @param {number} q 0..1 */
const quantileSorted = (xs, q) => xs.length === 0 ? NaN : xs[Math.min(xs.length - 1, Math.max(0, Math.ceil(q * xs.length) - 1))]

/** @param {number[]} samples */
export function latencySummary (samples) {
  const xs = Float64Array.from(samples).sort()
  const arr = Array.from(xs)
  return { count: arr.length, p50: quantileSorted(arr, 0.5), p99: quantileSorted(arr, 0.99), max: arr.length ? arr[arr.length - 1] : NaN }
}

/** Median of the finite numbers in `xs`, NaN if none. @param {Array<number | null | undefined>} xs */
export function median (xs) {
  const v = /** @type {number[]} */ (xs.filter((x) => typeof x === 'number' && Number.isFinite(x))).sort((a, b) => a - b)
  if (v.length === 0) return NaN
  const m = v.length >> 1
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2
}

/** The q-quantile (0..1, nearest rank) of the finite numbers in `xs`, NaN if none. @param {Array<number | null | undefined>} xs @param {number} q */
export function quantile (xs, q) {
  const v = /** @type {number[]} */ (xs.filter((x) => typeof x === 'number' && Number.isFinite(x))).sort((a, b) => a - b)
  return quantileSorted(v, q)
}
