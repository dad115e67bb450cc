/**
 * A consumer app: `npm pack` on a fresh clone (prepack builds it), install the tarball into a new app
 * (its one dependency, comlink, from npm's cache when it is there), and run one small program three ways:
 *
 * - as ESM (`app.mjs`);
 * - as a strict TypeScript program (`module`/`moduleResolution: NodeNext`, `strict`, `skipLibCheck:
 *   false`, so the shipped declarations are checked too), compiled with the repository's own tsc;
 * - through `require()` from a `.cjs` file. Node loads an ES module with `require()` without flags from
 *   20.19, 22.12 and 23 on (`process.features.require_module`); on older versions `require()` of the
 *   package fails with ERR_REQUIRE_ESM, and the test checks that instead.
 *
 * The program creates a registry, registers, looks up, starts and stops a coordinator, closes the
 * registry, and must then exit by itself.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeRun, npm, npmEnv, packFreshClone, packageName, repoRoot, run, tempDir } from './helpers.js';

const node = process.execPath;
const runTimeoutMs = 30_000;

let tmp: ReturnType<typeof tempDir>;
let app = '';

/** The lines every variant of the program prints, in order. */
const expected = [
  'registered: true, owner is self: true',
  'lookup: [[self,{"topic":"chess"}]]',
  'whereis is self: true',
  'testing entry: function',
  'coordinator swept a dead thread: true',
  'closed',
];

beforeAll(async () => {
  tmp = tempDir('roster-consumer');
  const { tarball } = await packFreshClone(tmp.dir);
  app = path.join(tmp.dir, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'consumer-app', version: '1.0.0', private: true, type: 'module' }, null, 2));
  const r = await run(npm, ['install', '--no-audit', '--no-fund', '--prefer-offline', '--no-package-lock', tarball], { cwd: app, timeoutMs: 120_000, env: npmEnv });
  if (r.code !== 0) throw new Error(`npm install of the tarball failed: ${describeRun(r)}`);
}, 300_000);

afterAll(() => tmp?.cleanup());

/** The program's body, the same in every variant; `self`, `Registry`, `Coordinator`, `supervise`, `Worker` and `setCrashHook` are in scope. */
const body = `
const coordinator = await Coordinator.start();
const rooms = Registry.create({ keys: 'unique', name: 'rooms', partitions: 4 });
const reg = rooms.register('room:42', { topic: 'chess' });
console.log(\`registered: \${reg.ok}, owner is self: \${reg.ok && reg.owner === self()}\`);
console.log(\`lookup: \${JSON.stringify(rooms.lookup('room:42')).replace(String(self()), 'self')}\`);
console.log(\`whereis is self: \${rooms.whereis('room:42') === self()}\`);
console.log(\`testing entry: \${typeof setCrashHook}\`);

// A worker registers and exits; its entry is swept.
const worker = new Worker(
  "const { workerData, parentPort } = require('node:worker_threads');" +
    "import('${packageName}').then(({ Registry }) => { Registry.attach(workerData).register('room:7', 1); parentPort.postMessage('ok'); });",
  { eval: true, workerData: rooms.handle },
);
supervise(worker);
await new Promise((resolve) => worker.once('message', resolve));
await worker.terminate();
await coordinator.sync();
console.log(\`coordinator swept a dead thread: \${rooms.lookup('room:7').length === 0 && rooms.count() === 1}\`);

await coordinator.stop();
rooms.close();
console.log('closed');
`;

async function runProgram(file: string): Promise<void> {
  const r = await run(node, [file], { cwd: app, timeoutMs: runTimeoutMs });
  expect(r.timedOut, `the program did not exit by itself: ${describeRun(r)}`).toBe(false);
  expect(r.code, describeRun(r)).toBe(0);
  expect(r.stdout.trim().split('\n'), describeRun(r)).toEqual(expected);
}

describe(`the packed tarball installed into a new app (Node ${process.versions.node})`, () => {
  it('is installed with its declarations and its one dependency, comlink', () => {
    const installed = path.join(app, 'node_modules', packageName);
    expect(fs.existsSync(path.join(installed, 'dist/src/index.d.ts'))).toBe(true);
    expect(fs.existsSync(path.join(installed, 'dist/workers/coordinator.js'))).toBe(true);
    expect(fs.existsSync(path.join(installed, 'dist/workers/scheduler.js'))).toBe(true);
    expect(fs.existsSync(path.join(installed, 'LICENSE'))).toBe(true);
    expect(fs.readdirSync(path.join(app, 'node_modules')).filter((d) => !d.startsWith('.')).sort()).toEqual(['comlink', packageName].sort());
  });

  it('runs as ESM (.mjs) and exits by itself', async () => {
    fs.writeFileSync(
      path.join(app, 'app.mjs'),
      `import { Worker } from 'node:worker_threads';
import { Coordinator, Registry, self, supervise } from '${packageName}';
import { setCrashHook } from '${packageName}/testing';
${body}`,
    );
    await runProgram('app.mjs');
  });

  it('compiles as a strict TypeScript consumer (NodeNext) and runs', async () => {
    const ts = path.join(app, 'ts');
    fs.mkdirSync(ts, { recursive: true });
    // The consumer brings its own @types/node, as any TypeScript app on Node does.
    fs.mkdirSync(path.join(app, 'node_modules', '@types'), { recursive: true });
    const typesNode = path.join(app, 'node_modules', '@types', 'node');
    if (!fs.existsSync(typesNode)) fs.symlinkSync(path.join(repoRoot, 'node_modules', '@types', 'node'), typesNode, 'dir');
    fs.writeFileSync(
      path.join(ts, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          skipLibCheck: false,
          noUncheckedIndexedAccess: true,
          exactOptionalPropertyTypes: true,
          verbatimModuleSyntax: true,
          types: ['node'],
          outDir: 'out',
          noEmitOnError: true,
        },
        files: ['app.ts'],
      }, null, 2),
    );
    fs.writeFileSync(
      path.join(ts, 'app.ts'),
      `import { Worker } from 'node:worker_threads';
import { Coordinator, Registry, self, supervise, type Entry, type Pid, type RegisterResult } from '${packageName}';
import { setCrashHook } from '${packageName}/testing';
// The public types are usable by name.
const typed: { entries: Entry[]; pid: Pid; result: RegisterResult | undefined } = { entries: [], pid: self(), result: undefined };
void typed;
${body}`,
    );
    const tsc = path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
    const compiled = await run(node, [tsc, '-p', 'ts/tsconfig.json'], { cwd: app, timeoutMs: 120_000 });
    expect(compiled.code, `tsc: ${describeRun(compiled)}`).toBe(0);
    await runProgram('ts/out/app.js');
  }, 180_000);

  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  const requireEsm = (major === 20 && minor >= 19) || (major === 22 && minor >= 12) || major >= 23;
  it(requireEsm ? 'works with require() from CommonJS (require(esm) is on by default here)' : 'require() fails with ERR_REQUIRE_ESM here (no require(esm))', async () => {
    const file = path.join(app, 'app.cjs');
    fs.writeFileSync(
      file,
      `const { Worker } = require('node:worker_threads');
const { Coordinator, Registry, self, supervise } = require('${packageName}');
const { setCrashHook } = require('${packageName}/testing');
(async () => {
${body}
})().catch((e) => { console.error(e); process.exit(1); });
`,
    );
    if (requireEsm) {
      await runProgram('app.cjs');
    } else {
      const r = await run(node, [file], { cwd: app, timeoutMs: runTimeoutMs });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/ERR_REQUIRE_ESM|require\(\) of ES Module/);
    }
  });
});
