/**
 * Every program in examples/ runs with one command, prints its key lines, and exits by itself with
 * code 0; so does the demo (`npm run demo`), whose flags are checked too. The README lists every example.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeRun, repoRoot, run } from './helpers.js';

const examplesDir = path.join(repoRoot, 'examples');

/** Key lines each example must print (regular expressions over its whole output). */
const expectations: Record<string, RegExp[]> = {
  'piscina-lookup.mjs': [
    /^main thread registered 10000 users$/m,
    /^task on pid \d+: user:4242 -> \{"name":"user-4242","plan":"pro"\}$/m,
    /^task on pid \d+: user:10000 -> not found$/m,
    /^2000 of 2000 lookups found their user, on [12] pool threads$/m,
  ],
  'crash-recovery.mjs': [
    /^before: 2000 entries; alpha:0 -> alpha \(pid \d+\), beta:0 -> beta \(pid \d+\)$/m,
    /^killed beta; lookup\('beta:0'\) right away -> \[\] \(dead owners are never returned\)$/m,
    /^coordinator\.sync\(\) resolved [\d.]+ ms after the kill$/m,
    /^after: 1000 entries; alpha:0 -> alpha \(pid \d+\), beta:0 -> nobody$/m,
    /^main thread registers beta:0 -> \{"ok":true,"owner":\d+\}$/m,
    /^events: 1000 unregister events for beta's names, then down \(pid \d+, reason terminated\)$/m,
  ],
  'actors.mjs': [
    /^chess members: \["alice","bob"\]$/m,
    /^call failed: ROSTER_ERR_EXIT \(error: room go crashed\)$/m,
    /^monitor: error: room go crashed; lookup\('go'\) -> \[\]$/m,
    /^call to go now: ROSTER_ERR_NOPROC$/m,
    /^chess: closed$/m,
    /^done$/m,
  ],
  'pubsub.mjs': [
    /^news: 2 subscriber\(s\)$/m,
    /^published to gardening: delivered to 0$/m,
    /^ {2}bob got \[news\] Roster 0\.1 released$/m,
    /^ {2}carol got \[weather\] sunny$/m,
    /^ {2}bob left \[news\]$/m,
    /^published to news: delivered to 1\n {2}alice got \[news\] Roster 0\.2 planned$/m,
    /^done$/m,
  ],
};

describe('examples/', () => {
  const files = fs.readdirSync(examplesDir).filter((f) => f.endsWith('.mjs')).sort();

  it('has a check for every example, and the README lists how to run each', () => {
    expect(files).toEqual(Object.keys(expectations).sort());
    const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    for (const f of files) expect(readme).toContain(`node examples/${f}`);
  });

  for (const file of Object.keys(expectations)) {
    it(`${file} runs and exits by itself`, async () => {
      const r = await run(process.execPath, [path.join('examples', file)], { cwd: repoRoot, timeoutMs: 60_000 });
      expect(r.timedOut, `did not exit by itself: ${describeRun(r)}`).toBe(false);
      expect(r.code, describeRun(r)).toBe(0);
      for (const re of expectations[file] ?? []) expect(r.stdout, describeRun(r)).toMatch(re);
    });
  }
});

describe('the demo (npm run demo)', () => {
  const demo = path.join('dist', 'scripts', 'demo.js');

  it('kills a worker halfway, prints the sweep, and passes its consistency check', async () => {
    const r = await run(process.execPath, [demo, '--threads', '2', '--seconds', '1', '--keys', '500', '--seed', '7'], { cwd: repoRoot, timeoutMs: 60_000 });
    expect(r.code, describeRun(r)).toBe(0);
    expect(r.stdout).toMatch(/killed thread 1 \(pid \d+\) in the middle of its work, holding [\d,]+ entries/);
    expect(r.stdout).toMatch(/coordinator\.sync\(\) resolved [\d.]+ ms later: its entries are swept, keys\(pid\) now lists 0, lookups show 0/);
    expect(r.stdout).toMatch(/none of the killed thread's 500 keys is left/);
    expect(r.stdout).toMatch(/^consistency: OK$/m);
  });

  it('prints a usage message and exits 2 on an unknown flag', async () => {
    const r = await run(process.execPath, [demo, '--bogus'], { cwd: repoRoot, timeoutMs: 30_000 });
    expect(r.code, describeRun(r)).toBe(2);
    expect(r.stderr).toMatch(/Unknown option '--bogus'/);
    expect(r.stderr).toMatch(/^usage: npm run demo -- /m);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});
