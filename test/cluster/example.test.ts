/**
 * examples/cluster/chat.mjs runs with one command (it starts its own redis-server), moves the room from
 * node a to node b, and exits by itself.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startRedis } from './kit.js';

describe('examples/cluster/chat.mjs', () => {
  it('runs, moves the room across nodes, and exits by itself', async () => {
    const redis = await startRedis(); // fails clearly when redis-server is missing; the example starts its own
    await redis.stop();
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const p = spawn(process.execPath, ['examples/cluster/chat.mjs'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (b: Buffer) => void (out += b.toString()));
    p.stderr.on('data', (b: Buffer) => void (out += b.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), 50_000);
    const [code] = await once(p, 'exit') as [number | null];
    clearTimeout(timer);
    expect(code, out).toBe(0);
    expect(out).toMatch(/^a hosts the room: true$/m);
    expect(out).toMatch(/^b hosts the room now: true$/m);
    expect(out).toMatch(/^c posts 2 more, by the same name: \{ host: 'b', said: \[ 'c: message 0', 'c: message 1' \] \}$/m);
    expect(out).toMatch(/^published messages heard by b and c: 7 7$/m);
  });
});
