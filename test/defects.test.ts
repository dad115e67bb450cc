/**
 * Smaller defects found by testing against the README: values, errors, options and attach, and the
 * order of duplicates. Each test states the README promise it holds the library to.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { Blob, File } from 'node:buffer';
import { createSecretKey, webcrypto } from 'node:crypto';
import { BlockList, SocketAddress } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import {
  $1, _, CapacityError, InvalidKeyError, InvalidMatchSpecError, InvalidOptionError, InvalidValueError, KeyTooLargeError,
  Registry, RosterError, StaleIncarnationError, TimeoutError, UnknownRegistryError, UnsupportedError, ValueTooLargeError,
} from '../dist/src/index.js';
import type { RegistryOptions } from '../dist/src/index.js';
import { kHSerial } from '../dist/src/layout.js';
import { runAs, spawnPid } from '../dist/src/domain/process.js';

const kRoot = new URL('..', import.meta.url);

const open: Registry[] = [];
afterEach(() => {
  for (const r of open.splice(0)) {
    try {
      r.close();
    } catch {
      // closed by the test
    }
  }
});

function create(options: RegistryOptions): Registry {
  const r = Registry.create(options);
  open.push(r);
  return r;
}

/** The error `fn` throws (fails the test when it returns). */
function thrown(fn: () => unknown): RosterError {
  try {
    fn();
  } catch (err) {
    return err as RosterError;
  }
  throw new Error('expected a throw');
}

/** Counts SharedArrayBuffers constructed while `fn` runs. */
function allocations(fn: () => void): number {
  const real = globalThis.SharedArrayBuffer;
  let n = 0;
  globalThis.SharedArrayBuffer = new Proxy(real, {
    construct(target, args, newTarget) {
      n++;
      return Reflect.construct(target, args, newTarget) as object;
    },
  });
  try {
    fn();
  } finally {
    globalThis.SharedArrayBuffer = real;
  }
  return n;
}

// ── Values ───────────────────────────────────────────────────────────────────────────────────────

describe('values (README "Keys and values")', () => {
  const sab = () => new SharedArrayBuffer(16);
  const overShared: Array<[string, () => unknown]> = [
    ['a Uint8Array', () => new Uint8Array(sab())],
    ['a DataView', () => new DataView(sab())],
    ['a Float64Array over a growable buffer', () => new Float64Array(new SharedArrayBuffer(8, { maxByteLength: 64 }))],
    ['a Buffer', () => Buffer.from(sab())],
    ['a view nested in an object', () => ({ a: { b: [1, new Int32Array(sab())] } })],
    ['a view in an array', () => ['x', new DataView(sab(), 4)]],
    ['a view as a Map value', () => new Map([['k', new Uint16Array(sab())]])],
    ['a view as a Map key', () => new Map([[new Uint8Array(sab()), 1]])],
    ['a view in a Set', () => new Set([1, new BigInt64Array(sab())])],
  ];

  test.each(overShared)('%s over a SharedArrayBuffer is rejected, and nothing is stored', (_label, make) => {
    for (const keys of ['unique', 'duplicate', 'duplicate-by-key'] as const) {
      const reg = create({ keys });
      const err = thrown(() => reg.register('k', make()));
      expect(err).toBeInstanceOf(InvalidValueError);
      expect(err.code).toBe('ROSTER_ERR_INVALID_VALUE');
      expect(err.message).toMatch(/SharedArrayBuffer/);
      expect(reg.lookup('k')).toEqual([]);
      expect(reg.count()).toBe(0);
      expect(thrown(() => reg.putMeta('m', make()))).toBeInstanceOf(InvalidValueError);
      expect(reg.meta('m')).toEqual({ ok: false });
    }
    const reg = create({ keys: 'unique' });
    reg.register('k', 1);
    expect(thrown(() => reg.updateValue('k', () => make()))).toBeInstanceOf(InvalidValueError);
    expect(reg.lookup('k').map(([, v]) => v)).toEqual([1]);
  });

  test('typed arrays, DataViews and Buffers over ordinary ArrayBuffers are still stored and copied', () => {
    const reg = create({ keys: 'unique' });
    const value = {
      u8: new Uint8Array([1, 2, 3]),
      f64: new Float64Array([1.5, -2]),
      view: new DataView(new Uint8Array([9, 8, 7, 6]).buffer, 1, 2),
      buf: Buffer.from('hi'),
      nested: new Map([['a', new Set([new Int16Array([-1])])]]),
    };
    expect(reg.register('k', value).ok).toBe(true);
    const [[, got]] = reg.lookup('k') as [[number, typeof value]];
    expect(got).not.toBe(value);
    expect(got.u8).toEqual(value.u8);
    expect(got.f64).toEqual(value.f64);
    expect([...new Uint8Array(got.view.buffer, got.view.byteOffset, got.view.byteLength)]).toEqual([8, 7]);
    expect(Buffer.isBuffer(got.buf) && got.buf.toString()).toBe('hi');
    expect(got.nested).toEqual(value.nested);
  });

  test('Node platform objects are rejected with an error that names the rule', async () => {
    const platform: Array<[string, unknown]> = [
      ['Blob', new Blob(['x'])],
      ['File', new File(['x'], 'f.txt')],
      ['KeyObject', createSecretKey(Buffer.from('secret'))],
      ['BlockList', new BlockList()],
      ['SocketAddress', new SocketAddress({ address: '127.0.0.1' })],
      ['CryptoKey', await webcrypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256' }, true, ['sign'])],
    ];
    const reg = create({ keys: 'duplicate' });
    for (const [name, obj] of platform) {
      // structuredClone accepts every one of these; the README says which rule Roster applies instead.
      expect(() => structuredClone(obj)).not.toThrow();
      for (const value of [obj, { nested: [obj] }]) {
        const err = thrown(() => reg.register('k', value));
        expect(err, name).toBeInstanceOf(InvalidValueError);
        expect(err.message, name).toMatch(/Node platform objects/);
        expect(err.message, name).toContain(name === 'KeyObject' ? 'KeyObject' : name);
      }
    }
    expect(reg.count()).toBe(0);
  });

  test('the README states the value rule the codec applies', () => {
    const section = readmeSection('### Keys and values');
    for (const word of ['SharedArrayBuffer', 'DataView', 'Blob', 'KeyObject', 'BlockList', 'InvalidValueError']) {
      expect(section).toContain(word);
    }
  });
});

// ── Errors ───────────────────────────────────────────────────────────────────────────────────────

describe('errors (README "Errors")', () => {
  const classes = [
    InvalidOptionError, InvalidKeyError, InvalidValueError, KeyTooLargeError, ValueTooLargeError, CapacityError,
    InvalidMatchSpecError, UnsupportedError, UnknownRegistryError, StaleIncarnationError, TimeoutError,
  ];

  test.each(classes)('RosterError.from rebuilds %o with its message after crossing a thread', (Ctor) => {
    const original = new Ctor('what went wrong');
    const received = structuredClone({ code: original.code, message: original.message });
    const err = RosterError.from(received);
    expect(err).toBeInstanceOf(Ctor);
    expect(err).toBeInstanceOf(RosterError);
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe(Ctor.code);
    expect(err.message).toBe('what went wrong');
    expect(err.name).toBe(Ctor.name);
    expect(String(err)).toBe(`${Ctor.name}: what went wrong`);
    expect(err.stack).toContain('what went wrong');
  });

  test('RosterError.from keeps an unknown code and the message', () => {
    const err = RosterError.from({ code: 'ROSTER_ERR_DOMAIN', message: 'not a Roster domain buffer' });
    expect(err.constructor).toBe(RosterError);
    expect(err.code).toBe('ROSTER_ERR_DOMAIN');
    expect(err.message).toBe('not a Roster domain buffer');
    expect(RosterError.from({ message: 'm' }).message).toBe('m');
  });

  test('the README table lists every code the library throws', () => {
    const codes = new Set<string>();
    const dir = new URL('src/', kRoot);
    for (const f of readdirSync(dir, { recursive: true }) as string[]) {
      if (!f.endsWith('.ts')) continue;
      for (const m of readFileSync(new URL(f, dir), 'utf8').matchAll(/ROSTER_ERR_[A-Z_]+/g)) codes.add(m[0]);
    }
    expect(codes.size).toBeGreaterThan(10);
    const table = readmeSection('### Errors');
    for (const code of codes) expect(table, code).toMatch(new RegExp(`\\| \`${code}\` \\|`));
  });
});

// ── Options and attach ───────────────────────────────────────────────────────────────────────────

describe('options and attach (README "Registry.create", "Registry.attach")', () => {
  test('a metadata value a registry cannot store is an InvalidOptionError before anything is allocated', () => {
    create({ keys: 'unique' }); // the domain exists before the counted calls
    for (const meta of [{ f: () => 1 }, { s: Symbol('s') }, { v: new Uint8Array(new SharedArrayBuffer(4)) }, { b: new Blob([]) }]) {
      let err: RosterError | undefined;
      expect(allocations(() => (err = thrown(() => Registry.create({ keys: 'unique', meta }))))).toBe(0);
      expect(err).toBeInstanceOf(InvalidOptionError);
      expect(err?.message).toMatch(/options\.meta\./);
    }
    let err: RosterError | undefined;
    const n = allocations(() => (err = thrown(() => Registry.create({ keys: 'unique', maxValueBytes: 16, meta: { big: 'x'.repeat(9) } }))));
    expect(n).toBe(0);
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect(create({ keys: 'unique', maxValueBytes: 16, meta: { ok: 'x'.repeat(8) } }).meta('ok')).toEqual({ ok: true, value: 'xxxxxxxx' });
  });

  test('an initialCapacity too large for maxPartitionBytes is an InvalidOptionError before anything is allocated', () => {
    create({ keys: 'unique' });
    let err: RosterError | undefined;
    const n = allocations(() => (err = thrown(() => Registry.create({ keys: 'unique', partitions: 4, maxPartitionBytes: 1 << 16, initialCapacity: 2048 }))));
    expect(n).toBe(0);
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect(err?.message).toMatch(/initialCapacity/);
    // The largest power of two that fits still works.
    const reg = create({ keys: 'unique', maxPartitionBytes: 1 << 16, initialCapacity: 1024 });
    expect(reg.register('k', 1).ok).toBe(true);
  });

  test('attach rejects handle-shaped objects with undersized or foreign buffers as UnknownRegistryError', () => {
    const reg = create({ keys: 'unique', partitions: 2 });
    const h = reg.handle;
    const zeros = (bytes: number) => new SharedArrayBuffer(bytes);
    const forged = {
      'a partition smaller than its header': { ...h, partitions: [h.partitions[0]!, zeros(64)] },
      'a partition without the magic word': { ...h, partitions: [zeros(h.partitions[0]!.byteLength)] },
      'an undersized metadata table': { ...h, meta: zeros(8) },
      'a lock table without the magic word': { ...h, locks: zeros(h.locks.byteLength) },
      'a domain buffer too small': { ...h, domain: zeros(64) },
      'a domain buffer without the magic word': { ...h, domain: zeros(h.domain.byteLength) },
      'a control buffer too small': { ...h, control: zeros(4) },
      'an odd-sized partition': { ...h, partitions: [zeros(6)] },
    };
    for (const [what, handle] of Object.entries(forged)) {
      const err = thrown(() => Registry.attach(handle));
      expect(err, what).toBeInstanceOf(UnknownRegistryError);
      expect(err.code, what).toBe('ROSTER_ERR_UNKNOWN_REGISTRY');
    }
    // The genuine handle still attaches, also after a structured clone.
    expect(Registry.attach(structuredClone(h)).count()).toBe(0);
  });
});

// ── Order of duplicates ──────────────────────────────────────────────────────────────────────────

describe('order of duplicates (README "Registrations", "Consistency")', () => {
  test('duplicates keep insertion order across the wrap of the partition serial', () => {
    const reg = create({ keys: 'duplicate-by-key', partitions: 1 });
    new Int32Array(reg.handle.partitions[0]!)[kHSerial] = 2 ** 31 - 2;
    for (const v of ['first', 'second', 'third']) expect(reg.register('topic', v).ok).toBe(true);
    expect(reg.lookup('topic').map(([, v]) => v)).toEqual(['first', 'second', 'third']);
    expect(reg.match('topic', _).map(([, v]) => v)).toEqual(['first', 'second', 'third']);
    expect(reg.values('topic', reg.lookup('topic')[0]![0])).toEqual(['first', 'second', 'third']);
    expect(reg.select([{ match: [_, _, $1], body: $1 }])).toEqual(['first', 'second', 'third']);
  });

  test("'duplicate' registries return entries partition by partition, in insertion order within each", () => {
    const reg = create({ keys: 'duplicate', partitions: 8 });
    // Two processes of this thread whose entries live in different partitions.
    const partitionOf = (pid: number): number => {
      const before = reg.stats().map((s) => s.live);
      runAs(pid, () => reg.register('probe', 0));
      const at = reg.stats().findIndex((s, i) => s.live !== before[i]);
      runAs(pid, () => reg.unregister('probe'));
      return at;
    };
    const pids = Array.from({ length: 16 }, () => spawnPid());
    const byPartition = new Map(pids.map((p) => [partitionOf(p), p]));
    expect(byPartition.size).toBeGreaterThan(1);
    const [lo, hi] = [...byPartition.keys()].sort((a, b) => a - b) as [number, number];
    const early = byPartition.get(hi)!; // registers first, but lives in the later partition
    const late = byPartition.get(lo)!;
    runAs(early, () => reg.register('room', 'e1'));
    runAs(late, () => reg.register('room', 'l1'));
    runAs(early, () => reg.register('room', 'e2'));
    runAs(late, () => reg.register('room', 'l2'));
    expect(reg.lookup('room')).toEqual([[late, 'l1'], [late, 'l2'], [early, 'e1'], [early, 'e2']]);
    expect(readmeSection('### Registrations')).toMatch(/partition by partition/);
  });
});

/** The README section that starts with `heading`, up to the next heading. */
function readmeSection(heading: string): string {
  const readme = readFileSync(new URL('README.md', kRoot), 'utf8');
  const start = readme.indexOf(`\n${heading}\n`);
  expect(start, heading).toBeGreaterThanOrEqual(0);
  const end = readme.slice(start + heading.length + 2).search(/\n#{2,3} /);
  return end < 0 ? readme.slice(start) : readme.slice(start, start + heading.length + 2 + end);
}
