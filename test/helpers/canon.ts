/**
 * A canonical, type-tagged string form of keys and values, for comparing what a registry returns
 * with what a test expects (sorting snapshots, multiset equality, ledger keys). Distinguishes every
 * case the key contract distinguishes: '1' vs 1 vs 1n vs true, lone surrogates, Uint8Array content,
 * tuple boundaries. Like Map keys, -0 is 0 and NaN is NaN.
 *
 * @module
 */

/** Canonical string of a key or a (plain-data) value. Cycles are reported, not followed. */
export function canon(x: unknown): string {
  return go(x, new Set());
}

function str(s: string): string {
  // Escape every UTF-16 unit outside printable ASCII, so lone surrogates stay distinct.
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c) out += s[i];
    else out += `\\u${c.toString(16).padStart(4, '0')}`;
  }
  return `${out}"`;
}

function go(x: unknown, seen: Set<object>): string {
  switch (typeof x) {
    case 'string':
      return `s:${str(x)}`;
    case 'number':
      return Number.isNaN(x) ? 'n:NaN' : `n:${x === 0 ? '0' : String(x)}`;
    case 'bigint':
      return `b:${x.toString()}`;
    case 'boolean':
      return x ? 'true' : 'false';
    case 'undefined':
      return 'undefined';
    case 'symbol':
      return `sym:${String(x.description)}`;
    case 'function':
      return 'fn';
    case 'object': {
      if (x === null) return 'null';
      if (seen.has(x)) return 'cycle';
      seen.add(x);
      try {
        if (x instanceof Uint8Array) return `u8:[${Array.from(x).join(',')}]`;
        if (Array.isArray(x)) return `[${x.map((e: unknown) => go(e, seen)).join(',')}]`;
        if (x instanceof Date) return `date:${x.getTime()}`;
        if (x instanceof Map) {
          return `map{${[...x.entries()].map(([k, v]) => `${go(k, seen)}=>${go(v, seen)}`).sort().join(',')}}`;
        }
        if (x instanceof Set) return `set{${[...x].map((v) => go(v, seen)).sort().join(',')}}`;
        const keys = Object.keys(x).sort();
        const rec = x as Record<string, unknown>;
        return `{${keys.map((k) => `${str(k)}:${go(rec[k], seen)}`).join(',')}}`;
      } finally {
        seen.delete(x);
      }
    }
  }
  return '?';
}

/** Sorted canonical strings: a multiset fingerprint of a list. */
export function canonSorted(xs: readonly unknown[]): string[] {
  return xs.map(canon).sort();
}
