/**
 * The README's quick start runs as written: its code block (the fenced block after
 * `<!-- readme-test: quickstart -->`) is written into a temporary app whose `node_modules/roster-threads`
 * links to this repository (its build), run with node, and must print exactly the block after
 * `<!-- readme-test: quickstart-output -->` (pids may differ) and exit by itself with code 0.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeRun, packageName, repoRoot, run, tempDir } from './helpers.js';

/** The fenced code blocks that follow `<!-- readme-test: NAME -->` markers, by name (in order). */
function markedBlocks(markdown: string): Map<string, string[]> {
  const blocks = new Map<string, string[]>();
  const re = /<!-- readme-test: ([\w-]+) -->\s*\n```[\w-]*\n([\s\S]*?)\n```/g;
  for (const m of markdown.matchAll(re)) {
    const name = m[1] as string;
    blocks.set(name, [...(blocks.get(name) ?? []), m[2] as string]);
  }
  return blocks;
}

/** Pids are large integers that vary from run to run. */
const normalize = (text: string): string => text.trim().replace(/\b\d{6,}\b/g, '<pid>');

const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
const blocks = markedBlocks(readme);

let tmp: ReturnType<typeof tempDir>;
let app = '';

beforeAll(() => {
  tmp = tempDir('roster-readme');
  app = tmp.dir;
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'readme-app', private: true, type: 'module' }));
  fs.mkdirSync(path.join(app, 'node_modules'));
  fs.symlinkSync(repoRoot, path.join(app, 'node_modules', packageName), 'dir');
});

afterAll(() => tmp?.cleanup());

describe('README', () => {
  it('marks one quick-start block and its output', () => {
    expect(blocks.get('quickstart')?.length).toBe(1);
    expect(blocks.get('quickstart-output')?.length).toBe(1);
  });

  it('quick start runs as written, prints what it says, and exits', async () => {
    const code = blocks.get('quickstart')?.[0] ?? '';
    const output = blocks.get('quickstart-output')?.[0] ?? '';
    expect(code).toContain(`from '${packageName}'`);
    fs.writeFileSync(path.join(app, 'quickstart.mjs'), code + '\n');
    const r = await run(process.execPath, ['quickstart.mjs'], { cwd: app, timeoutMs: 30_000 });
    expect(r.timedOut, `the quick start did not exit by itself: ${describeRun(r)}`).toBe(false);
    expect(r.code, describeRun(r)).toBe(0);
    expect(r.stderr, describeRun(r)).toBe('');
    expect(normalize(r.stdout)).toBe(normalize(output));
  });

  it('speaks of the published package name only', () => {
    expect(readme).not.toMatch(/from 'roster'|from "roster"|roster\/testing|npm i(nstall)? roster\b(?!-)/);
  });
});
