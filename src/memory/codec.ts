/**
 * Encoding of keys and values into shared memory, and back. Any thread; touches only thread-local
 * scratch buffers, never shared memory.
 *
 * Keys: a string key is stored as its UTF-16 units (exact: a lone surrogate stays itself). Every other
 * key is stored as a canonical byte string, so that two keys are equal exactly when their bytes are:
 *
 * ```
 *  string   0x01 u32 len, len × u16          number  0x02 f64 (-0 → 0, one NaN)
 *  bigint   0x03 sign u32 len, hex digits      false   0x04    true 0x05
 *  bytes    0x06 u32 len, bytes                tuple   0x07 u32 count, elements
 * ```
 * All integers little-endian. Tags make `'1'`, `1`, `1n` and `[1]` distinct.
 *
 * Values: undefined, null, booleans and int32 are inline; other numbers are float64; strings are UTF-16
 * units; everything else is serialized as `v8.serialize` does (the structured-clone wire format), except
 * that a typed array or DataView over a SharedArrayBuffer and Node's platform objects (Blob, KeyObject,
 * BlockList...) are rejected with InvalidValueError wherever they occur in the value.
 *
 * @module
 */
import { ScratchWriter } from './scratch.js';
import { DefaultSerializer, deserialize } from 'node:v8';
import { isSharedArrayBuffer } from 'node:util/types';
import { Blob } from 'node:buffer';
import { KeyObject, X509Certificate } from 'node:crypto';
import { BlockList, SocketAddress } from 'node:net';
import { createHistogram } from 'node:perf_hooks';
import { BroadcastChannel, MessagePort } from 'node:worker_threads';
import { InvalidKeyError, InvalidValueError, KeyTooLargeError, ValueTooLargeError, describe } from '../errors.js';
import {
  kValFalse, kValFloat, kValInt, kValNull, kValSerialized, kValString, kValTrue, kValUndefined,
} from '../layout.js';
import type { Key } from '../types.js';

const kTagString = 0x01;
const kTagNumber = 0x02;
const kTagBigInt = 0x03;
const kTagFalse = 0x04;
const kTagTrue = 0x05;
const kTagBytes = 0x06;
const kTagTuple = 0x07;
const kMaxDepth = 32;

const scratch = new ScratchWriter(256);

/** Makes room for `extra` more key bytes, refusing a key past `limit`. */
function ensureKey(s: ScratchWriter, extra: number, limit: number): void {
  if (s.len + extra > limit) throw new KeyTooLargeError(`key is larger than maxKeyBytes (${limit} bytes)`);
  s.ensure(extra);
}

/**
 * Encodes a non-string key (or a string inside a tuple) into the thread-local scratch buffer and
 * returns it with its length. The returned array is only valid until the next call.
 * Throws InvalidKeyError or KeyTooLargeError; nothing is written anywhere else.
 */
export function encodeKeyBytes(key: Key, limit: number): { bytes: Uint8Array; len: number } {
  scratch.len = 0;
  encodeInto(key, limit, 0);
  return { bytes: scratch.buf, len: scratch.len };
}

function encodeInto(key: unknown, limit: number, depth: number): void {
  const s = scratch;
  switch (typeof key) {
    case 'string': {
      ensureKey(s, 5 + key.length * 2, limit);
      s.buf[s.len] = kTagString;
      s.view.setUint32(s.len + 1, key.length, true);
      s.len += 5;
      for (let i = 0; i < key.length; i++, s.len += 2) s.view.setUint16(s.len, key.charCodeAt(i), true);
      return;
    }
    case 'number': {
      ensureKey(s, 9, limit);
      s.buf[s.len] = kTagNumber;
      // Map-like equality: -0 is 0 and every NaN is one NaN.
      s.view.setFloat64(s.len + 1, key === 0 ? 0 : Number.isNaN(key) ? NaN : key, true);
      s.len += 9;
      return;
    }
    case 'bigint': {
      const neg = key < 0n;
      const digits = (neg ? -key : key).toString(16);
      ensureKey(s, 6 + digits.length, limit);
      s.buf[s.len] = kTagBigInt;
      s.buf[s.len + 1] = neg ? 1 : 0;
      s.view.setUint32(s.len + 2, digits.length, true);
      s.len += 6;
      for (let i = 0; i < digits.length; i++) s.buf[s.len++] = digits.charCodeAt(i);
      return;
    }
    case 'boolean':
      ensureKey(s, 1, limit);
      s.buf[s.len++] = key ? kTagTrue : kTagFalse;
      return;
    case 'object': {
      if (key instanceof Uint8Array) {
        ensureKey(s, 5 + key.length, limit);
        s.buf[s.len] = kTagBytes;
        s.view.setUint32(s.len + 1, key.length, true);
        s.len += 5;
        s.buf.set(key, s.len);
        s.len += key.length;
        return;
      }
      if (Array.isArray(key)) {
        if (depth >= kMaxDepth) throw new InvalidKeyError(`key tuples may nest at most ${kMaxDepth} deep`);
        ensureKey(s, 5, limit);
        s.buf[s.len] = kTagTuple;
        s.view.setUint32(s.len + 1, key.length, true);
        s.len += 5;
        for (let i = 0; i < key.length; i++) {
          if (!(i in key)) throw new InvalidKeyError(`key tuple has a hole at index ${i}`);
          encodeInto(key[i], limit, depth + 1);
        }
        return;
      }
      break;
    }
  }
  throw new InvalidKeyError(
    `expected a key to be a string, number, bigint, boolean, Uint8Array or array of these, got: ${describe(key)}`,
  );
}

/** Decodes a canonical key encoding (a copy of the bytes; any thread). */
export function decodeKeyBytes(b: Uint8Array, start: number, len: number): Key {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const pos = { i: start };
  const key = decodeAt(b, view, pos);
  if (pos.i !== start + len) throw new RangeError('corrupt key encoding');
  return key;
}

function decodeAt(b: Uint8Array, view: DataView, pos: { i: number }): Key {
  const tag = b[pos.i++];
  switch (tag) {
    case kTagString: {
      const n = view.getUint32(pos.i, true);
      pos.i += 4;
      let out = '';
      for (let k = 0; k < n; k++, pos.i += 2) out += String.fromCharCode(view.getUint16(pos.i, true));
      return out;
    }
    case kTagNumber: {
      const x = view.getFloat64(pos.i, true);
      pos.i += 8;
      return x;
    }
    case kTagBigInt: {
      const neg = b[pos.i] === 1;
      const n = view.getUint32(pos.i + 1, true);
      pos.i += 5;
      let digits = '';
      for (let k = 0; k < n; k++) digits += String.fromCharCode(b[pos.i++] as number);
      const mag = BigInt(`0x${digits}`);
      return neg ? -mag : mag;
    }
    case kTagFalse:
      return false;
    case kTagTrue:
      return true;
    case kTagBytes: {
      const n = view.getUint32(pos.i, true);
      pos.i += 4;
      const out = b.slice(pos.i, pos.i + n);
      pos.i += n;
      return out;
    }
    case kTagTuple: {
      const n = view.getUint32(pos.i, true);
      pos.i += 4;
      const out: Key[] = [];
      for (let k = 0; k < n; k++) out.push(decodeAt(b, view, pos));
      return out;
    }
    default:
      throw new RangeError(`corrupt key encoding (tag ${String(tag)})`);
  }
}

/** A value ready to be written: its tag, its length word, and (for serialized values) its bytes. */
export interface EncodedValue {
  tag: number;
  /** Inline int32, or the length in UTF-16 units (strings) or bytes (serialized). */
  len: number;
  /** Size of the value's data in the blob, in bytes (0 for inline values). */
  dataBytes: number;
  num: number;
  str: string;
  bytes: Uint8Array | null;
}

/** Node's own host-object writer (typed arrays, DataViews and Buffers); not in Node's type declarations. */
const writeView = (DefaultSerializer.prototype as unknown as { _writeHostObject(this: DefaultSerializer, view: ArrayBufferView): void })
  ._writeHostObject;

/**
 * `v8.serialize`'s serializer, refusing what it would store wrongly. V8 hands it every typed array,
 * DataView and Buffer, and every object backed by a native handle (Node's platform objects), wherever
 * they occur in the value; plain JavaScript data never reaches this method.
 */
class ValueSerializer extends DefaultSerializer {
  _writeHostObject(obj: object): void {
    if (!ArrayBuffer.isView(obj)) throw platformObjectError(obj);
    if (isSharedArrayBuffer(obj.buffer)) {
      throw new InvalidValueError(
        `values may not contain a SharedArrayBuffer or a typed array or DataView over one (it would be stored as a ` +
          `copy that is no longer shared), found: ${className(obj)} over a SharedArrayBuffer`,
      );
    }
    writeView.call(this, obj);
  }
}

function className(obj: object): string {
  const name = (obj as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== '' ? name : Object.prototype.toString.call(obj);
}

function platformObjectError(obj: object): InvalidValueError {
  return new InvalidValueError(
    `values may not contain Node platform objects (Blob, File, KeyObject, CryptoKey, BlockList, SocketAddress, ` +
      `histograms: objects backed by a native handle, which structuredClone passes between threads but ` +
      `v8.serialize cannot write into memory); store their data instead, found: ${className(obj)}`,
  );
}

function cryptoKeyClass(): Array<abstract new (...args: never[]) => object> {
  const C = (globalThis as { CryptoKey?: unknown }).CryptoKey;
  return typeof C === 'function' ? [C as abstract new (...args: never[]) => object] : [];
}

/** Node's platform classes that structuredClone passes but v8.serialize cannot write faithfully. */
const kPlatformClasses: ReadonlyArray<abstract new (...args: never[]) => object> = [
  Blob, BlockList, SocketAddress, KeyObject as unknown as abstract new () => object, X509Certificate, MessagePort, BroadcastChannel,
  ...cryptoKeyClass(),
  Object.getPrototypeOf(createHistogram()).constructor as abstract new (...args: never[]) => object,
];

/**
 * Whether this Node writes some platform objects as plain objects instead of handing them to
 * `_writeHostObject` (Node 22 and later write a Blob as `{}`): then values are walked for them first.
 */
const kWalkForPlatformObjects = ((): boolean => {
  try {
    const ser = new ValueSerializer();
    ser.writeHeader();
    ser.writeValue(new Blob([]));
    return true;
  } catch {
    return false;
  }
})();

/** Throws if a platform object occurs anywhere in `value` (own enumerable properties, Map and Set entries). */
function refusePlatformObjects(value: object): void {
  const seen = new Set<object>();
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v !== 'object' || v === null || seen.has(v)) continue;
    seen.add(v);
    if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer || v instanceof SharedArrayBuffer) continue;
    for (const C of kPlatformClasses) if (v instanceof C) throw platformObjectError(v);
    if (v instanceof Map) for (const [k, x] of v) stack.push(k, x);
    else if (v instanceof Set) for (const x of v) stack.push(x);
    // Data properties only: a getter runs once, when the value is serialized, not here too.
    for (const d of Object.values(Object.getOwnPropertyDescriptors(v))) if (d.enumerable === true && 'value' in d) stack.push(d.value);
  }
}

/** `v8.serialize(value)` with the refusals above. */
function serializeValue(value: unknown): Uint8Array {
  if (kWalkForPlatformObjects && typeof value === 'object' && value !== null) refusePlatformObjects(value);
  const ser = new ValueSerializer();
  ser.writeHeader();
  ser.writeValue(value);
  return ser.releaseBuffer();
}

/** Encodes a value, checking `maxValueBytes`. Throws InvalidValueError or ValueTooLargeError. */
export function encodeValue(value: unknown, limit: number): EncodedValue {
  const out: EncodedValue = { tag: kValUndefined, len: 0, dataBytes: 0, num: 0, str: '', bytes: null };
  switch (typeof value) {
    case 'undefined':
      return out;
    case 'boolean':
      out.tag = value ? kValTrue : kValFalse;
      return out;
    case 'number':
      if ((value | 0) === value && !Object.is(value, -0)) {
        out.tag = kValInt;
        out.len = value;
      } else {
        out.tag = kValFloat;
        out.num = value;
        out.dataBytes = 8;
      }
      return out;
    case 'string':
      out.tag = kValString;
      out.len = value.length;
      out.str = value;
      out.dataBytes = value.length * 2;
      break;
    case 'function':
    case 'symbol':
      throw new InvalidValueError(`expected a structured-cloneable value, got: ${describe(value)}`);
    default: {
      if (value === null) {
        out.tag = kValNull;
        return out;
      }
      let bytes: Uint8Array;
      try {
        bytes = serializeValue(value);
      } catch (cause) {
        if (cause instanceof InvalidValueError) throw cause;
        throw new InvalidValueError(
          `expected a structured-cloneable value without SharedArrayBuffers or Node platform objects, got: ` +
            `${describe(value)}: ${cause instanceof Error ? cause.message : String(cause)}`,
          { cause },
        );
      }
      out.tag = kValSerialized;
      out.len = bytes.length;
      out.bytes = bytes;
      out.dataBytes = bytes.length;
    }
  }
  if (out.dataBytes > limit) {
    throw new ValueTooLargeError(`value is ${out.dataBytes} bytes encoded, more than maxValueBytes (${limit})`);
  }
  return out;
}

/** Decodes a serialized value from a private copy of its bytes. */
export function decodeSerialized(bytes: Uint8Array): unknown {
  return deserialize(bytes);
}
