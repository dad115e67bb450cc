/**
 * The message codec: a message body to bytes and back, for the cross-thread transport (ring.ts,
 * mailroom.ts). Pure computation on thread-local memory; any thread may call it.
 *
 * Common shapes get a compact tagged encoding, written by hand; anything else is written in the
 * structured-clone format (`v8.serialize`), nested where it occurs:
 *
 * ```
 *  0x00 undefined   0x01 null   0x02 false   0x03 true
 *  0x04 u8          0x05 i32 (4 bytes)       0x06 f64 (8 bytes)
 *  0x07 one-byte string: u32 length, length × latin1 byte
 *  0x08 two-byte string: u32 length, length × UTF-16 unit (exact: a lone surrogate stays itself)
 *  0x09 bigint in int64: 8 bytes     0x0a bigint: u8 sign, u32 n, n hex digits (ASCII)
 *  0x0b array: u32 count, count × value
 *  0x0c object (prototype Object.prototype): u32 count, count × (string, value)
 *  0x0d object (prototype null): the same
 *  0x0e structured clone: u32 length, length bytes of v8.serialize output
 * ```
 * All integers little-endian; no alignment inside a body.
 *
 * **What changes on the way.** Exactly what structured clone changes (class instances arrive as plain
 * objects, symbol keys and non-enumerable properties are dropped), and two things it keeps that the
 * compact path does not: an object reached twice arrives as two copies, and an array hole arrives as
 * `undefined`. A value nested deeper than kMaxDepth (a cycle, for instance) is written whole in the
 * structured-clone format, which keeps both.
 *
 * **Refused** with `InvalidMessageError`, before any byte leaves the thread: functions, symbols, and
 * anything `v8.serialize` refuses (a `SharedArrayBuffer`, which a copy would stop sharing; a typed
 * array over one; a `MessagePort`; Node's platform objects backed by a native handle, on Node 20).
 *
 * @module
 */
import type { ScratchWriter } from '../memory/scratch.js';
import { DefaultSerializer, deserialize } from 'node:v8';
import { isSharedArrayBuffer } from 'node:util/types';
import { InvalidMessageError, describe } from '../errors.js';

const kUndefined = 0x00;
const kNull = 0x01;
const kFalse = 0x02;
const kTrue = 0x03;
const kU8 = 0x04;
const kI32 = 0x05;
const kF64 = 0x06;
const kStr1 = 0x07;
const kStr2 = 0x08;
const kBig64 = 0x09;
const kBigHex = 0x0a;
const kArray = 0x0b;
const kObject = 0x0c;
const kObjectNull = 0x0d;
const kClone = 0x0e;

/** Deeper than this, a value is written whole in the structured-clone format (cycles end there). */
const kMaxDepth = 64;
/** Strings up to this length are copied unit by unit in JavaScript; longer ones natively. */
const kShortString = 32;
// eslint-disable-next-line no-control-regex -- the range starts at U+0000 on purpose
const kNotLatin1 = /[^\u0000-\u00ff]/;
const kMinI64 = -(2n ** 63n);
const kMaxI64 = 2n ** 63n - 1n;

export { ScratchWriter } from '../memory/scratch.js';

/** Thrown inside the compact encoder to restart in the structured-clone format. */
const kTooDeep = Symbol('roster.too-deep');

/**
 * Appends the encoding of `value` to `w` (from `w.len` on). Throws `InvalidMessageError` for a value
 * that cannot cross threads; `w.len` is then back where it was. Cost: one pass over the value; the
 * structured-clone path for the parts that need it.
 */
export function encodeMessage(value: unknown, w: ScratchWriter): void {
  const start = w.len;
  try {
    encodeValue(value, w, 0);
  } catch (e) {
    w.len = start;
    if (e !== kTooDeep) throw e;
    writeClone(value, w);
  }
}

function encodeValue(v: unknown, w: ScratchWriter, depth: number): void {
  switch (typeof v) {
    case 'undefined':
      w.ensure(1);
      w.buf[w.len++] = kUndefined;
      return;
    case 'boolean':
      w.ensure(1);
      w.buf[w.len++] = v ? kTrue : kFalse;
      return;
    case 'number':
      if ((v | 0) === v && (v !== 0 || 1 / v > 0)) {
        if (v >= 0 && v < 256) {
          w.ensure(2);
          w.buf[w.len] = kU8;
          w.buf[w.len + 1] = v;
          w.len += 2;
        } else {
          w.ensure(5);
          w.buf[w.len] = kI32;
          w.view.setInt32(w.len + 1, v, true);
          w.len += 5;
        }
      } else {
        w.ensure(9);
        w.buf[w.len] = kF64;
        w.view.setFloat64(w.len + 1, v, true);
        w.len += 9;
      }
      return;
    case 'string':
      writeString(v, w);
      return;
    case 'bigint':
      writeBigInt(v, w);
      return;
    case 'function':
    case 'symbol':
      throw new InvalidMessageError(`a message must be structured-cloneable, got: ${describe(v)}`);
    default:
      break;
  }
  if (v === null) {
    w.ensure(1);
    w.buf[w.len++] = kNull;
    return;
  }
  if (depth >= kMaxDepth) throw kTooDeep;
  const o = v as object;
  if (Array.isArray(o)) {
    if (Object.getPrototypeOf(o) !== Array.prototype) return writeClone(o, w);
    const n = o.length;
    w.ensure(5);
    w.buf[w.len] = kArray;
    w.view.setUint32(w.len + 1, n, true);
    w.len += 5;
    for (let i = 0; i < n; i++) encodeValue(o[i], w, depth + 1);
    return;
  }
  const proto = Object.getPrototypeOf(o) as unknown;
  if (proto !== Object.prototype && proto !== null) return writeClone(o, w);
  const keys = Object.keys(o);
  w.ensure(5);
  w.buf[w.len] = proto === null ? kObjectNull : kObject;
  w.view.setUint32(w.len + 1, keys.length, true);
  w.len += 5;
  for (const k of keys) {
    writeString(k, w);
    encodeValue((o as Record<string, unknown>)[k], w, depth + 1);
  }
}

function writeString(s: string, w: ScratchWriter): void {
  const n = s.length;
  if (n <= kShortString) {
    w.ensure(5 + 2 * n);
    const b = w.buf;
    let p = w.len + 5;
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c > 0xff) break;
      b[p++] = c;
    }
    if (i === n) {
      b[w.len] = kStr1;
      w.view.setUint32(w.len + 1, n, true);
      w.len = p;
      return;
    }
    p = w.len + 5;
    for (i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      b[p] = c & 0xff;
      b[p + 1] = c >>> 8;
      p += 2;
    }
    b[w.len] = kStr2;
    w.view.setUint32(w.len + 1, n, true);
    w.len = p;
    return;
  }
  const wide = kNotLatin1.test(s);
  w.ensure(5 + (wide ? 2 * n : n));
  w.buf[w.len] = wide ? kStr2 : kStr1;
  w.view.setUint32(w.len + 1, n, true);
  w.len += 5 + w.nbuf.write(s, w.len + 5, wide ? 'utf16le' : 'latin1');
}

function writeBigInt(v: bigint, w: ScratchWriter): void {
  if (v >= kMinI64 && v <= kMaxI64) {
    w.ensure(9);
    w.buf[w.len] = kBig64;
    w.view.setBigInt64(w.len + 1, v, true);
    w.len += 9;
    return;
  }
  const hex = (v < 0n ? -v : v).toString(16);
  w.ensure(6 + hex.length);
  w.buf[w.len] = kBigHex;
  w.buf[w.len + 1] = v < 0n ? 1 : 0;
  w.view.setUint32(w.len + 2, hex.length, true);
  w.len += 6 + w.nbuf.write(hex, w.len + 6, 'latin1');
}

/** Node's writer of typed arrays, DataViews and Buffers (not in Node's type declarations). */
const writeView = (DefaultSerializer.prototype as unknown as { _writeHostObject(this: DefaultSerializer, view: ArrayBufferView): void })
  ._writeHostObject;

/** `v8.serialize`'s serializer, refusing views over shared memory and native-handle objects. */
class MessageSerializer extends DefaultSerializer {
  _writeHostObject(obj: object): void {
    if (!ArrayBuffer.isView(obj)) throw new InvalidMessageError(`a message may not contain a native-handle object, found: ${describe(obj)}`);
    if (isSharedArrayBuffer(obj.buffer)) {
      throw new InvalidMessageError('a message may not contain a typed array or DataView over a SharedArrayBuffer (a copy would no longer be shared)');
    }
    writeView.call(this, obj);
  }
}

function writeClone(v: unknown, w: ScratchWriter): void {
  let bytes: Uint8Array;
  try {
    const ser = new MessageSerializer();
    ser.writeHeader();
    ser.writeValue(v);
    bytes = ser.releaseBuffer();
  } catch (cause) {
    if (cause instanceof InvalidMessageError) throw cause;
    throw new InvalidMessageError(
      `a message must be structured-cloneable, without SharedArrayBuffers, got: ${describe(v)}: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }
  w.ensure(5 + bytes.length);
  w.buf[w.len] = kClone;
  w.view.setUint32(w.len + 1, bytes.length, true);
  w.buf.set(bytes, w.len + 5);
  w.len += 5 + bytes.length;
}

// ── Decoding ──────────────────────────────────────────────────────────────────────────────────

/** The decoder's cursor; one per thread (decoding never re-enters itself). */
const r: { u8: Uint8Array; view: DataView; nbuf: Buffer; pos: number; end: number } = {
  u8: new Uint8Array(0),
  view: new DataView(new ArrayBuffer(0)),
  nbuf: Buffer.alloc(0),
  pos: 0,
  end: 0,
};

/**
 * Decodes the value encoded in `bytes[start, end)`. The bytes may live in shared memory; the result
 * is a private copy. Throws `RangeError` on bytes that are not an encoding (a damaged buffer).
 */
export function decodeMessage(bytes: Uint8Array, start: number, end: number): unknown {
  if (r.u8 !== bytes) {
    r.u8 = bytes;
    r.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    r.nbuf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  r.pos = start;
  r.end = end;
  const v = decodeValue();
  if (r.pos !== end) throw new RangeError(`corrupt message: ${end - r.pos} bytes left over`);
  return v;
}

function need(n: number): void {
  if (r.pos + n > r.end) throw new RangeError('corrupt message: truncated');
}

function decodeValue(): unknown {
  need(1);
  const tag = r.u8[r.pos++];
  switch (tag) {
    case kUndefined:
      return undefined;
    case kNull:
      return null;
    case kFalse:
      return false;
    case kTrue:
      return true;
    case kU8:
      need(1);
      return r.u8[r.pos++];
    case kI32: {
      need(4);
      const v = r.view.getInt32(r.pos, true);
      r.pos += 4;
      return v;
    }
    case kF64: {
      need(8);
      const v = r.view.getFloat64(r.pos, true);
      r.pos += 8;
      return v;
    }
    case kStr1:
    case kStr2:
      return readString(tag);
    case kBig64: {
      need(8);
      const v = r.view.getBigInt64(r.pos, true);
      r.pos += 8;
      return v;
    }
    case kBigHex: {
      need(5);
      const neg = r.u8[r.pos] === 1;
      const n = r.view.getUint32(r.pos + 1, true);
      r.pos += 5;
      need(n);
      const mag = BigInt(`0x${r.nbuf.toString('latin1', r.pos, r.pos + n)}`);
      r.pos += n;
      return neg ? -mag : mag;
    }
    case kArray: {
      need(4);
      const n = r.view.getUint32(r.pos, true);
      r.pos += 4;
      if (n > r.end - r.pos) throw new RangeError('corrupt message: array too long');
      const out = new Array<unknown>(n);
      for (let i = 0; i < n; i++) out[i] = decodeValue();
      return out;
    }
    case kObject:
    case kObjectNull: {
      need(4);
      const n = r.view.getUint32(r.pos, true);
      r.pos += 4;
      const out: Record<string, unknown> = tag === kObject ? {} : (Object.create(null) as Record<string, unknown>);
      for (let i = 0; i < n; i++) {
        need(1);
        const kt = r.u8[r.pos++];
        if (kt !== kStr1 && kt !== kStr2) throw new RangeError('corrupt message: object key is not a string');
        const k = kt === kStr1 ? readKey() : readString(kt);
        const v = decodeValue();
        if (k === '__proto__') Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
        else out[k] = v;
      }
      return out;
    }
    case kClone: {
      need(4);
      const n = r.view.getUint32(r.pos, true);
      r.pos += 4;
      need(n);
      // A private copy: the bytes may be in shared memory that the sender reuses later.
      const copy = r.u8.slice(r.pos, r.pos + n);
      r.pos += n;
      const u8 = r.u8;
      const v: unknown = deserialize(copy);
      // Deserializing runs no code of ours, but keep the cursor honest should that ever change.
      if (r.u8 !== u8) throw new RangeError('decoder re-entered');
      return v;
    }
    default:
      throw new RangeError(`corrupt message: tag ${String(tag)}`);
  }
}

/** Recently decoded short one-byte keys, by a hash of their bytes: a hit skips making (and interning) a string. */
const kKeyCacheSize = 512;
const keyCache: string[] = new Array<string>(kKeyCacheSize).fill('');

function readKey(): string {
  need(4);
  const n = r.view.getUint32(r.pos, true);
  if (n > 24) return readString(kStr1);
  need(4 + n);
  const b = r.u8;
  const p = r.pos + 4;
  let h = n;
  for (let i = 0; i < n; i++) h = Math.imul(h ^ (b[p + i] as number), 0x01000193);
  const slot = (h >>> 0) & (kKeyCacheSize - 1);
  const hit = keyCache[slot] as string;
  if (hit.length === n) {
    let i = 0;
    while (i < n && hit.charCodeAt(i) === b[p + i]) i++;
    if (i === n) {
      r.pos = p + n;
      return hit;
    }
  }
  const k = readString(kStr1);
  keyCache[slot] = k;
  return k;
}

function readString(tag: number): string {
  need(4);
  const n = r.view.getUint32(r.pos, true);
  r.pos += 4;
  const bytes = tag === kStr1 ? n : 2 * n;
  need(bytes);
  const p = r.pos;
  r.pos += bytes;
  if (n > kShortString) return r.nbuf.toString(tag === kStr1 ? 'latin1' : 'utf16le', p, p + bytes);
  const b = r.u8;
  let s = '';
  if (tag === kStr1) for (let i = 0; i < n; i++) s += String.fromCharCode(b[p + i] as number);
  else for (let i = 0; i < n; i++) s += String.fromCharCode((b[p + 2 * i] as number) | ((b[p + 2 * i + 1] as number) << 8));
  return s;
}
