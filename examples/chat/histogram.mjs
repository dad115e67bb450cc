// A small log-scale latency histogram: 8 buckets per power of two of microseconds (about 9 % wide),
// from 1 µs to about 17 s. Users keep one each; the main thread merges them.

const kPerOctave = 8;
const kBuckets = 24 * kPerOctave;

export const newHistogram = () => new Array(kBuckets).fill(0);

/** Counts one sample of `us` microseconds. */
export function record(h, us) {
  const i = us <= 1 ? 0 : Math.min(kBuckets - 1, Math.floor(Math.log2(us) * kPerOctave));
  h[i]++;
}

/** Adds histogram `b` into `a`. */
export function merge(a, b) {
  for (let i = 0; i < kBuckets; i++) a[i] += b[i] ?? 0;
  return a;
}

/** The `q` quantile (0..1) in microseconds: the middle of the bucket it falls in; 0 when empty. */
export function quantile(h, q) {
  const total = h.reduce((s, n) => s + n, 0);
  if (total === 0) return 0;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let i = 0; i < kBuckets; i++) {
    seen += h[i];
    if (seen >= rank) return Math.round(2 ** ((i + 0.5) / kPerOctave));
  }
  return Math.round(2 ** (kBuckets / kPerOctave));
}

export const samples = (h) => h.reduce((s, n) => s + n, 0);
