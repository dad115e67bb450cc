/**
 * The tarball: `npm pack --dry-run --json` on a fresh clone (prepack builds it) lists what a consumer
 * needs (the library, its type declarations, the testing entry, the coordinator thread's entry point, the
 * source maps, README, LICENSE, CHANGELOG) and nothing from tests, benchmarks, scripts or other workers.
 * Every relative import of a shipped module resolves to a shipped file, and every source map carries its
 * sources, so stack traces point at code that exists.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packFreshClone, tempDir, type PackedFile } from './helpers.js';

let tmp: ReturnType<typeof tempDir>;
let clone = '';
let files: PackedFile[] = [];
let paths = new Set<string>();

beforeAll(async () => {
  tmp = tempDir('roster-pack');
  ({ clone, files } = await packFreshClone(tmp.dir, { dryRun: true }));
  paths = new Set(files.map((f) => f.path));
}, 300_000);

afterAll(() => tmp?.cleanup());

describe('npm pack --dry-run on a fresh clone', () => {
  it('builds before packing (prepack) and ships what a consumer needs', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(clone, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
      exports: Record<string, string | Record<string, string>>;
      main: string;
      types: string;
    };
    expect(pkg.scripts['prepack']).toMatch(/\bbuild\b/);
    for (const file of [
      'package.json', 'README.md', 'LICENSE', 'CHANGELOG.md',
      'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/index.js.map',
      'dist/src/testing.js', 'dist/src/testing.d.ts',
      'dist/workers/coordinator.js', 'dist/workers/coordinator.d.ts', 'dist/workers/coordinator.js.map',
      'dist/workers/scheduler.js', 'dist/src/runtime/runtime.js',
    ]) {
      expect(paths, file).toContain(file);
    }
    // Every target named by main, types and exports is in the tarball.
    const targets = [pkg.main, pkg.types];
    for (const target of Object.values(pkg.exports)) targets.push(...(typeof target === 'string' ? [target] : Object.values(target)));
    for (const t of targets) expect(paths, `package.json names ${t}`).toContain(t.replace(/^\.\//, ''));
  });

  it('ships nothing from tests, benchmarks, scripts, examples or other workers', () => {
    const allowed = /^(package\.json|README\.md|LICENSE|CHANGELOG\.md|dist\/src\/(runtime\/|cluster\/)?[^/]+\.(js|d\.ts|js\.map)|dist\/workers\/(coordinator|scheduler)\.(js|d\.ts|js\.map))$/;
    expect(files.map((f) => f.path).filter((p) => !allowed.test(p))).toEqual([]);
    const forbidden = /^(dist\/)?(test|bench|scripts|examples|docs)\/|^dist\/workers\/(?!coordinator\.|scheduler\.)|^src\//;
    expect(files.map((f) => f.path).filter((p) => forbidden.test(p))).toEqual([]);
  });

  it('every relative import and worker URL of a shipped module resolves to a shipped file', () => {
    const missing: string[] = [];
    for (const p of paths) {
      if (!p.endsWith('.js')) continue;
      const code = fs.readFileSync(path.join(clone, p), 'utf8');
      const specifiers = [
        ...code.matchAll(/\b(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g),
        ...code.matchAll(/new URL\(\s*['"](\.{1,2}\/[^'"]+)['"],\s*import\.meta\.url\s*\)/g),
      ].map((m) => m[1] as string);
      for (const s of specifiers) {
        const target = path.posix.normalize(path.posix.join(path.posix.dirname(p), s));
        if (!paths.has(target)) missing.push(`${p} → ${s}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('source maps carry their sources (no reference to files outside the tarball)', () => {
    const maps = [...paths].filter((p) => p.endsWith('.js.map'));
    expect(maps.length).toBeGreaterThan(0);
    for (const p of maps) {
      const map = JSON.parse(fs.readFileSync(path.join(clone, p), 'utf8')) as { sources: string[]; sourcesContent?: Array<string | null> };
      expect(map.sources.length, p).toBeGreaterThan(0);
      expect(map.sourcesContent?.length, `${p}: sourcesContent`).toBe(map.sources.length);
      for (const content of map.sourcesContent ?? []) expect(typeof content, p).toBe('string');
    }
  });
});
