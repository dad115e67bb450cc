/**
 * The chat service (`npm start`, examples/chat/) runs short and seeded, with and without a scheduler
 * killed midway, and its own consistency check passes: every acknowledged post is in its room's
 * history, every user received what it was owed exactly once and in order, and the registries hold
 * exactly the live actors. The figures the table and the benchmark use are present.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeRun, repoRoot, run } from './package/helpers.js';

const main = path.join('examples', 'chat', 'main.mjs');
const short = ['--schedulers', '2', '--users', '300', '--rooms', '40', '--seconds', '3', '--seed', '7'];

interface ChatResults {
  postsPerSec: number;
  deliveriesPerSec: number;
  callP50Us: number;
  callP99Us: number;
  restarts: number;
  recoveryMs: number | null;
  killed: { index: number; children: number | null } | null;
  roomsAlive: number;
  checked: { acks: number; owed: number; users: number; named: number; held: number; subscriptions: number };
  consistent: boolean;
  problems: string[];
}

describe('the chat service', () => {
  it('kills a scheduler midway, recovers, and passes its consistency check', async () => {
    const r = await run(process.execPath, [main, ...short, '--json'], { cwd: repoRoot, timeoutMs: 90_000 });
    expect(r.code, describeRun(r)).toBe(0);
    const res = JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as ChatResults;
    expect(res.problems, describeRun(r)).toEqual([]);
    expect(res.consistent).toBe(true);
    expect(res.postsPerSec).toBeGreaterThan(0);
    expect(res.deliveriesPerSec).toBeGreaterThan(res.postsPerSec);
    expect(res.callP50Us).toBeGreaterThan(0);
    expect(res.callP99Us).toBeGreaterThanOrEqual(res.callP50Us);
    expect(res.killed).not.toBeNull();
    expect(res.killed?.children).toBeGreaterThan(0);
    expect(res.restarts).toBeGreaterThan(0);
    expect(res.recoveryMs).toBeGreaterThan(0);
    expect(res.roomsAlive).toBeGreaterThan(0);
    expect(res.checked.users).toBe(300);
    expect(res.checked.owed).toBeGreaterThan(0);
    expect(res.checked.held).toBe(300 + res.roomsAlive);
    expect(res.checked.subscriptions).toBe(300 * 3); // 3 rooms each
  });

  it('runs without the kill, and prints its progress, table and verdict', async () => {
    const r = await run(process.execPath, [main, ...short, '--no-kill'], { cwd: repoRoot, timeoutMs: 90_000 });
    expect(r.code, describeRun(r)).toBe(0);
    expect(r.stdout).toMatch(/^chat service: 2 schedulers, 300 users, 40 rooms, 3 s, seed 7$/m);
    expect(r.stdout).toMatch(/posts +[\d,]+\/s +deliveries +[\d,]+\/s +actors [\d,]+/);
    expect(r.stdout).toMatch(/^ {2}posts\/s +[\d,]+$/m);
    expect(r.stdout).toMatch(/^ {2}deliveries\/s +[\d,]+$/m);
    expect(r.stdout).toMatch(/^ {2}call latency p50 +[\d,.]+ (µs|ms)$/m);
    expect(r.stdout).toMatch(/^ {2}call latency p99 +[\d,.]+ (µs|ms) /m);
    expect(r.stdout).toMatch(/^ {2}actors per scheduler +#0: [\d,]+ +\([\d,]+ users, [\d,]+ rooms\)$/m);
    expect(r.stdout).toMatch(/^ {2}restarts +[\d,]+/m);
    expect(r.stdout).toMatch(/^ {2}recovery +no scheduler killed \(--no-kill\)$/m);
    expect(r.stdout, describeRun(r)).toMatch(/^consistency: OK /m);
  });

  it('prints its usage and exits 2 on an unknown flag', async () => {
    const r = await run(process.execPath, [main, '--bogus'], { cwd: repoRoot, timeoutMs: 30_000 });
    expect(r.code, describeRun(r)).toBe(2);
    expect(r.stderr).toMatch(/^usage: npm start -- /m);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
