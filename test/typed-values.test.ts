/**
 * `Registry<V>`: values are typed end to end (`lookup` returns `Entry<V>[]` without casts). The
 * checks live in test/types/typed-values.ts and are compiled strictly against the build's
 * declarations; a type error anywhere fails this test.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

test('Registry<V> types lookup, match, values, updateValue, ref and dispatch; a wrong value does not compile', () => {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const tsc = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));
  let out = '';
  try {
    execFileSync(process.execPath, [
      tsc, '--noEmit', '--strict', '--exactOptionalPropertyTypes', '--module', 'NodeNext', '--moduleResolution', 'NodeNext',
      '--target', 'ES2023', '--skipLibCheck', '--types', 'node', 'test/types/typed-values.ts',
    ], { cwd: root, encoding: 'utf8' });
  } catch (err) {
    out = String((err as { stdout?: unknown }).stdout ?? err);
  }
  expect(out).toBe('');
});
