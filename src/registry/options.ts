/**
 * Validation of registry options and of handles received from other threads. Runs before anything is
 * allocated; every failure is an `InvalidOptionError` that names the option, what was expected and what
 * was received.
 *
 * @module
 */
import { encodeValue } from '../memory/codec.js';
import { InvalidOptionError, InvalidValueError, UnknownRegistryError, describe } from '../errors.js';
import {
  kControlWords, kDMagic, kDVersion, kDomainMagic, kDomainWords, kHMagic, kHVersion, kHeaderWords, kLayoutVersion, kPartitionMagic,
  initialPartitionSize,
} from '../layout.js';
import type { KeysKind, RegistryOptions } from '../types.js';

export const kKinds: readonly KeysKind[] = ['unique', 'duplicate', 'duplicate-by-key'];
export const kMaxPartitions = 1024;

/** Options after defaults. */
export interface ResolvedOptions {
  keys: KeysKind;
  name: string;
  partitions: number;
  listeners: string[];
  meta: Array<[string, unknown]>;
  maxKeyBytes: number;
  maxValueBytes: number;
  maxPartitionBytes: number;
  initialCapacity: number;
  lookupCache: number;
}

const kKnown = new Set([
  'keys', 'name', 'partitions', 'listeners', 'meta', 'maxKeyBytes', 'maxValueBytes', 'maxPartitionBytes', 'initialCapacity', 'lookupCache',
]);

let counter = 0;

function intOption(o: Record<string, unknown>, name: string, dflt: number, min: number, max: number): number {
  const v = o[name];
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new InvalidOptionError(`expected options.${name} to be an integer from ${min} to ${max}, got: ${describe(v)}`);
  }
  return v;
}

/** Validates `Registry.create` options in Elixir's order: keys, name, meta, partitions, listeners, limits. */
export function resolveOptions(options: unknown): ResolvedOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidOptionError(`expected options to be an object, got: ${describe(options)}`);
  }
  const o = options as Record<string, unknown> & Partial<RegistryOptions>;
  if (!kKinds.includes(o.keys as KeysKind)) {
    throw new InvalidOptionError(
      `expected options.keys to be given and be one of 'unique', 'duplicate' or 'duplicate-by-key', got: ${describe(o.keys)}`,
    );
  }
  if (o.name !== undefined && (typeof o.name !== 'string' || o.name.length === 0)) {
    throw new InvalidOptionError(`expected options.name to be a non-empty string, got: ${describe(o.name)}`);
  }
  let meta: Array<[string, unknown]> = [];
  /** Encoded size of each metadata value, checked against maxValueBytes once that is known. */
  const metaBytes: number[] = [];
  if (o.meta !== undefined) {
    if (typeof o.meta !== 'object' || o.meta === null || Array.isArray(o.meta)) {
      throw new InvalidOptionError(`expected options.meta to be a plain object, got: ${describe(o.meta)}`);
    }
    meta = Object.entries(o.meta);
    for (const [k, v] of meta) {
      try {
        metaBytes.push(encodeValue(v, Infinity).dataBytes);
      } catch (err) {
        if (!(err instanceof InvalidValueError)) throw err;
        throw new InvalidOptionError(`expected options.meta.${k} to be a value a registry can store: ${err.message}`);
      }
    }
  }
  const partitions = intOption(o, 'partitions', 1, 1, kMaxPartitions);
  let listeners: string[] = [];
  if (o.listeners !== undefined) {
    if (!Array.isArray(o.listeners) || !o.listeners.every((l) => typeof l === 'string' && l.length > 0)) {
      throw new InvalidOptionError(`expected options.listeners to be an array of listener names, got: ${describe(o.listeners)}`);
    }
    listeners = [...new Set(o.listeners as string[])];
  }
  for (const k of Object.keys(o)) {
    if (!kKnown.has(k)) throw new InvalidOptionError(`unknown option ${JSON.stringify(k)}; known options: ${[...kKnown].join(', ')}`);
  }
  const maxKeyBytes = intOption(o, 'maxKeyBytes', 4096, 16, 1 << 24);
  const maxValueBytes = intOption(o, 'maxValueBytes', 1 << 20, 16, 1 << 28);
  const maxPartitionBytes = intOption(o, 'maxPartitionBytes', 256 << 20, 1 << 16, 2 ** 31);
  const initialCapacity = intOption(o, 'initialCapacity', 1024, 8, 1 << 24);
  const lookupCache = intOption(o, 'lookupCache', 1 << 17, 0, 1 << 24);
  meta.forEach(([k], i) => {
    // Metadata keys are string keys (2 bytes a UTF-16 unit); values as `putMeta` encodes them.
    if (k.length * 2 > maxKeyBytes) {
      throw new InvalidOptionError(`expected options.meta keys to fit maxKeyBytes (${maxKeyBytes} bytes), got: ${describe(k)}`);
    }
    const bytes = metaBytes[i] as number;
    if (bytes > maxValueBytes) {
      throw new InvalidOptionError(
        `expected options.meta.${k} to fit maxValueBytes (${maxValueBytes}), got a value of ${bytes} bytes encoded`,
      );
    }
  });
  const initialBytes = initialPartitionSize(initialCapacity).words * 4;
  if (initialBytes > maxPartitionBytes) {
    throw new InvalidOptionError(
      `expected options.initialCapacity to fit maxPartitionBytes (${maxPartitionBytes}), got: ${describe(initialCapacity)}, ` +
        `which needs a ${initialBytes}-byte partition`,
    );
  }
  return {
    keys: o.keys as KeysKind,
    name: o.name ?? `registry-${++counter}`,
    partitions,
    listeners,
    meta,
    maxKeyBytes,
    maxValueBytes,
    maxPartitionBytes,
    initialCapacity,
    lookupCache,
  };
}

/**
 * What a registry hands out to other threads: plain data and SharedArrayBuffers, so structured clone
 * shares (not copies) the memory. Treat it as opaque.
 */
export interface RegistryHandle {
  readonly roster: 1;
  readonly id: string;
  readonly name: string;
  readonly kind: KeysKind;
  readonly listeners: readonly string[];
  readonly maxKeyBytes: number;
  readonly maxValueBytes: number;
  readonly lookupCache: number;
  readonly domain: SharedArrayBuffer;
  readonly control: SharedArrayBuffer;
  readonly partitions: readonly SharedArrayBuffer[];
  readonly meta: SharedArrayBuffer;
  readonly locks: SharedArrayBuffer;
}

/** Whether `sab` holds at least `words` words, `magic` at word `magicAt` and this build's layout version at `versionAt`. */
function tagged(sab: unknown, words: number, magicAt: number, magic: number, versionAt: number): boolean {
  if (!(sab instanceof SharedArrayBuffer) || sab.byteLength < words * 4) return false;
  const i32 = new Int32Array(sab, 0, words);
  return Atomics.load(i32, magicAt) === magic && Atomics.load(i32, versionAt) === kLayoutVersion;
}

function isPartition(sab: unknown): boolean {
  return tagged(sab, kHeaderWords, kHMagic, kPartitionMagic, kHVersion);
}

/**
 * Checks that `h` is a registry handle before attaching: its fields, and that each buffer is large
 * enough and carries its magic word and this build's layout version. Throws UnknownRegistryError.
 */
export function checkHandle(h: unknown): RegistryHandle {
  const x = h as Partial<RegistryHandle> | null;
  if (
    typeof x !== 'object' || x === null || x.roster !== 1 || typeof x.id !== 'string' ||
    !kKinds.includes(x.kind as KeysKind) || !Array.isArray(x.partitions) || x.partitions.length === 0 ||
    x.partitions.length > kMaxPartitions || !x.partitions.every(isPartition) || !isPartition(x.meta) ||
    !isPartition(x.locks) || !tagged(x.domain, kDomainWords, kDMagic, kDomainMagic, kDVersion) ||
    !(x.control instanceof SharedArrayBuffer) || x.control.byteLength < kControlWords * 4
  ) {
    throw new UnknownRegistryError(`unknown registry: expected a handle from registry.handle, got: ${describe(h)}`);
  }
  return x as RegistryHandle;
}
