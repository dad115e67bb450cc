/**
 * Helpers of the package tests: a fresh copy of the repository (what a clone holds: no dist/, no
 * outputs), `npm pack` in it, temporary apps, and a child-process runner with a deadline.
 *
 * The fresh copy builds in its own directory, so packing never rewrites the dist/ that the rest of the
 * suite is running from.
 *
 * @module
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** The package's name on npm. */
export const packageName = 'roster-threads';

/** What a clone holds that packing needs (everything the build compiles, and the files shipped as they are). */
const cloneEntries = [
  'package.json', 'package-lock.json', 'tsconfig.json', 'README.md', 'LICENSE', 'CHANGELOG.md',
  'src', 'workers', 'bench', 'scripts', 'test',
];
/** Ignored outputs that a clone never has. */
const ignored = new Set(['bench/out', 'dist', 'docs/api', 'node_modules']);

/** A temporary directory, removed by the returned cleanup. */
export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Copies what a fresh clone holds into `dir` and links the repository's node_modules (dev tools). */
export function freshClone(dir: string): void {
  for (const entry of cloneEntries) {
    const from = path.join(repoRoot, entry);
    if (!fs.existsSync(from)) continue;
    fs.cpSync(from, path.join(dir, entry), {
      recursive: true,
      filter: (src) => !ignored.has(path.relative(repoRoot, src).split(path.sep).join('/')),
    });
  }
  fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  ms: number;
}

/** Runs a command to completion or until `timeoutMs` (then kills it); never rejects. */
export function run(cmd: string, args: string[], opts: { cwd: string; timeoutMs: number; env?: NodeJS.ProcessEnv }): Promise<RunResult> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs);
    const done = (code: number | null, signal: NodeJS.Signals | null): void => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut, ms: Date.now() - t0 });
    };
    child.on('error', (e) => {
      stderr += String(e);
      done(null, null);
    });
    child.on('close', done);
  });
}

/** One line describing a finished command, for assertion messages. */
export function describeRun(r: RunResult): string {
  const how = r.timedOut ? `timed out after ${r.ms} ms` : `exit code ${r.code}${r.signal ? `, signal ${r.signal}` : ''}`;
  return `${how}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}

/** `npm` on this platform. */
export const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** The environment for npm: no update checks, no funding or audit chatter. */
export const npmEnv: NodeJS.ProcessEnv = {
  ...process.env,
  npm_config_update_notifier: 'false',
  npm_config_fund: 'false',
  npm_config_audit: 'false',
};

export interface PackedFile {
  path: string;
  size: number;
}

/**
 * Makes a fresh clone in `dir`/clone and runs `npm pack --json` there (prepack builds it), writing the
 * tarball into `dir` (or only listing it with `dryRun`). Returns the tarball's path and its file list.
 */
export async function packFreshClone(dir: string, { dryRun = false } = {}): Promise<{ clone: string; tarball: string; files: PackedFile[] }> {
  const clone = path.join(dir, 'clone');
  fs.mkdirSync(clone);
  freshClone(clone);
  const args = ['pack', '--json', '--pack-destination', dir];
  if (dryRun) args.push('--dry-run');
  const r = await run(npm, args, { cwd: clone, timeoutMs: 240_000, env: npmEnv });
  if (r.code !== 0) throw new Error(`npm ${args.join(' ')} failed: ${describeRun(r)}`);
  // npm prints the prepack script's output before the JSON; the JSON is the last top-level array.
  const json = r.stdout.slice(r.stdout.lastIndexOf('\n[') + 1);
  const [info] = JSON.parse(json.startsWith('[') ? json : r.stdout) as Array<{ filename: string; files: PackedFile[] }>;
  if (info === undefined) throw new Error(`npm pack printed no package: ${r.stdout}`);
  return { clone, tarball: path.join(dir, info.filename), files: info.files };
}
