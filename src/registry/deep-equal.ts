/**
 * Structural equality, as registry keys and ETS `=:=` see it: the one comparison patterns, guards and
 * literals use (pattern.ts). Also the plain-object and byte tests the pattern compiler shares.
 *
 * Threads: any. Pure; touches no shared memory.
 *
 * @module
 */

/** A plain object, also from another realm: its prototype is null or a root prototype. */
export function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return false;
  const proto: unknown = Object.getPrototypeOf(x);
  return proto === null || proto === Object.prototype || Object.getPrototypeOf(proto) === null;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
const bytesOf = (x: object): Uint8Array =>
  ArrayBuffer.isView(x) ? new Uint8Array(x.buffer, x.byteOffset, x.byteLength) : new Uint8Array(x as ArrayBufferLike);

/**
 * Structural equality as registry keys and ETS `=:=` see it: exact types (`'1'` is not `1`, `1n` is
 * not `1`), `-0` equals `0`, `NaN` equals `NaN`, arrays element-wise, plain objects by key set and
 * values, typed arrays and buffers by type and bytes, Dates by time, Maps and Sets by contents,
 * other classes by identity. Cyclic values are handled. Threads: any; pure. Cost: O(size).
 */
export const deepEqual: (a: unknown, b: unknown) => boolean = eq;
/** RegExp, Error and boxed primitives print exactly what makes them equal; other classes never do. */
const kPrintable = new Set(['RegExp', 'Error', 'Number', 'String', 'Boolean', 'BigInt'].map((t) => `[object ${t}]`));

function eq(a: unknown, b: unknown, as?: object[], bs?: object[]): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return a !== a && b !== b;
  if (as === undefined || bs === undefined) return eq(a, b, [], []);
  // INVARIANT: a pair already being compared higher up is assumed equal (cycles terminate).
  for (let i = as.length - 1; i >= 0; i--) if (as[i] === a) return bs[i] === b;
  const tag = Object.prototype.toString.call(a);
  if (tag !== Object.prototype.toString.call(b)) return false;
  as.push(a);
  bs.push(b);
  const result = eqObject(a, b, tag, as, bs);
  as.pop();
  bs.pop();
  return result;
}

function eqObject(a: object, b: object, tag: string, as: object[], bs: object[]): boolean {
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!eq(a[i], b[i], as, bs)) return false;
    return true;
  }
  if (isPlainObject(a)) {
    const keys = Object.keys(a);
    if (!isPlainObject(b) || keys.length !== Object.keys(b).length) return false;
    for (const k of keys) if (!Object.hasOwn(b, k) || !eq(a[k], b[k], as, bs)) return false;
    return true;
  }
  if (ArrayBuffer.isView(a) || tag === '[object ArrayBuffer]' || tag === '[object SharedArrayBuffer]') {
    return bytesEqual(bytesOf(a), bytesOf(b));
  }
  if (a instanceof Map && b instanceof Map) {
    if (a.size !== b.size) return false;
    for (const [k, x] of a) {
      if (!(b.has(k) ? eq(x, b.get(k), as, bs) : [...b].some(([kb, y]) => eq(k, kb, as, bs) && eq(x, y, as, bs)))) return false;
    }
    return true;
  }
  if (a instanceof Set && b instanceof Set) {
    if (a.size !== b.size) return false;
    for (const x of a) if (!b.has(x) && ![...b].some((y) => eq(x, y, as, bs))) return false;
    return true;
  }
  if (tag === '[object Date]') return eq((a as Date).getTime(), (b as Date).getTime());
  return kPrintable.has(tag) && String(a) === String(b);
}
