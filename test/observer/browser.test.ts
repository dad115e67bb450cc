/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The observer's page in a real headless Chromium (puppeteer-core drives the installed browser): a
 * small system's schedulers, registries and actors show their real counts; killing a scheduler shows
 * its death within two refreshes, and then its sweep; sorting the actor table by mailbox depth puts a
 * deliberately flooded actor first. Synchronization is `waitForFunction` with bounded timeouts only.
 *
 * The browser: `ROSTER_CHROMIUM`, else `/usr/bin/chromium`, `chromium`, `chromium-browser` on the
 * PATH. Without one the test fails (CI installs Debian's `chromium`; see .ci/run).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { Registry, Runtime, cast, ref, spawn, via, type Pid } from '../../dist/src/index.js';
import { Observer } from '../../dist/src/observer/index.js';

const kB = new URL('../../dist/test/fixtures/observer-actors.js', import.meta.url).href;
const kIntervalMs = 300;
/** Bound of every wait on the page. */
const kWaitMs = 10_000;

function findChromium(): string {
  const env = process.env.ROSTER_CHROMIUM;
  if (env !== undefined && env !== '') {
    if (!existsSync(env)) throw new Error(`ROSTER_CHROMIUM=${env} does not exist`);
    return env;
  }
  if (existsSync('/usr/bin/chromium')) return '/usr/bin/chromium';
  for (const name of ['chromium', 'chromium-browser']) {
    try {
      const p = execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
      if (p !== '') return p;
    } catch {
      // not on the PATH
    }
  }
  throw new Error(
    'no Chromium found for the observer\'s browser test: install it (Debian: apt-get install -y --no-install-recommends chromium), ' +
      'or set ROSTER_CHROMIUM to its path',
  );
}

let rt: Runtime;
let names: Registry;
let obs: Observer;
let browser: Browser;
let page: Page;
let profile: string;
let flooded: Pid;

beforeAll(async () => {
  const executablePath = findChromium();
  names = Registry.create({ keys: 'unique', name: 'rooms', partitions: 2 });
  rt = await Runtime.start({ schedulers: 2, registries: [names as unknown as Registry<never>] });
  for (let i = 0; i < 6; i++) await spawn(ref(kB, 'Counter'), null, { name: via(names, `room:${i}`), scheduler: i % 2 });
  flooded = await spawn(ref(kB, 'Holder'), null, { name: via(names, 'flooded'), scheduler: 0 });
  cast(flooded, 'hold');
  for (let i = 0; i < 40; i++) cast(flooded, i);
  obs = await Observer.start({ runtime: rt, intervalMs: kIntervalMs });
  profile = mkdtempSync(join(tmpdir(), 'roster-chromium-'));
  browser = await puppeteer.launch({
    executablePath,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`,
    ],
  });
  page = await browser.newPage();
  await page.goto(obs.url, { waitUntil: 'domcontentloaded' });
  await page.waitForFunction(() => Number(document.body.dataset.updates ?? 0) >= 1, { timeout: kWaitMs });
});

afterAll(async () => {
  await browser?.close();
  if (profile !== undefined) rmSync(profile, { recursive: true, force: true });
  await obs?.stop();
  await rt?.stop();
  names?.close();
});

test('the page shows the real schedulers, registries and actors', async () => {
  const actors = rt.stats().map((s) => s.actors);
  expect(actors).toEqual([4, 3]);
  const total = actors.reduce((a, b) => a + b, 0);
  // Wait until the listing and the counters are in (bounded), then compare with the system.
  await page.waitForFunction(
    (n) => document.querySelectorAll('#actors tbody tr[data-pid]').length === n &&
      [...document.querySelectorAll<HTMLElement>('#schedulers tbody tr')].reduce((a, tr) => a + Number(tr.dataset.actors), 0) === n,
    { timeout: kWaitMs }, total,
  );
  const shown = await page.evaluate(() => ({
    schedulers: [...document.querySelectorAll<HTMLElement>('#schedulers tbody tr')].map((tr) => ({ state: tr.dataset.state, actors: Number(tr.dataset.actors) })),
    registries: [...document.querySelectorAll<HTMLElement>('#registries [data-registry]')].map((d) => ({ name: d.dataset.registry, count: Number(d.dataset.count) })),
    actors: [...document.querySelectorAll<HTMLElement>('#actors tbody tr[data-pid]')].map((tr) => Number(tr.dataset.pid)),
  }));
  expect(shown.schedulers).toEqual(actors.map((n) => ({ state: 'alive', actors: n })));
  expect(shown.registries).toEqual([{ name: 'rooms', count: names.count() }]);
  expect(names.count()).toBe(7);
  const registered = ['flooded', ...Array.from({ length: 6 }, (_, i) => `room:${i}`)].map((k) => names.whereis(k) as Pid);
  expect(shown.actors.sort((a, b) => a - b)).toEqual(registered.sort((a, b) => a - b));
});

test('sorting the actor table by mailbox depth puts the flooded actor first', async () => {
  // Sorted by pid at first: the flooded actor (spawned last on scheduler 0) is not first.
  await page.waitForFunction((pid) => document.querySelector<HTMLElement>('#actors tbody tr')?.dataset.pid !== String(pid), { timeout: kWaitMs }, flooded);
  await page.click('#actors th[data-sort="mailbox"]');
  await page.waitForFunction(
    (pid) => {
      const first = document.querySelector<HTMLElement>('#actors tbody tr');
      return first?.dataset.pid === String(pid) && first.dataset.mailbox === '40';
    },
    { timeout: kWaitMs }, flooded,
  );
  // The schedulers' deepest mailboxes say the same.
  const top = await page.$eval('#schedulers tbody tr[data-index="0"]', (tr) => tr.textContent ?? '');
  expect(top).toContain(`${flooded}: 40`);
});

test('killing a scheduler shows its death within two refreshes, then its replacement and its sweep', async () => {
  const tid = rt.worker(1).threadId;
  await rt.worker(1).terminate();
  const before = await page.evaluate(() => Number(document.body.dataset.updates));
  // The death (the row may already show the replacement alive again: the timeline keeps the death).
  await page.waitForFunction(() => document.querySelector('#timeline li[data-kind="death"][data-subject="scheduler 1"]') !== null, { timeout: kWaitMs });
  const after = await page.evaluate(() => Number(document.body.dataset.updates));
  expect(after - before).toBeLessThanOrEqual(2);
  expect(await page.$eval('#timeline li[data-kind="death"][data-subject="scheduler 1"]', (li) => li.textContent ?? '')).toContain('terminated');
  // The recovery: the runtime starts a replacement thread at the same index (the page counts a restart
  // and shows the scheduler alive again), and the coordinator sweeps the dead thread's names. Their
  // threads, not this one, set the pace, so they are waited for without a refresh count.
  await page.waitForFunction(
    () => document.querySelector('#timeline li[data-kind="restart"][data-subject="scheduler 1"]') !== null &&
      document.querySelector<HTMLElement>('#schedulers tbody tr[data-index="1"]')?.dataset.state === 'alive',
    { timeout: kWaitMs },
  );
  await page.waitForFunction(() => document.querySelector('#timeline li[data-kind="swept"][data-subject="scheduler 1"]') !== null, { timeout: kWaitMs });
  expect(rt.worker(1).threadId).not.toBe(tid);
  // Its actors' names were swept: the registry's count on the page follows.
  await page.waitForFunction((n) => document.querySelector<HTMLElement>('#registries [data-registry="rooms"]')?.dataset.count === String(n), { timeout: kWaitMs }, names.count());
  expect(names.count()).toBe(4);
});

test('with a token, the page opened as /?token= passes it on to its event stream', async () => {
  const token = 'observer-test-token-0123456789';
  const o = await Observer.start({ registries: [names], token, intervalMs: kIntervalMs });
  try {
    const p = await browser.newPage();
    try {
      const denied = await p.goto(o.url, { waitUntil: 'domcontentloaded' });
      expect(denied?.status()).toBe(401);
      await p.goto(`${o.url}?token=${token}`, { waitUntil: 'domcontentloaded' });
      await p.waitForFunction(() => Number(document.body.dataset.updates ?? 0) >= 1, { timeout: kWaitMs });
      expect(await p.$eval('#registries [data-registry="rooms"]', (d) => (d as HTMLElement).dataset.count)).toBe(String(names.count()));
    } finally {
      await p.close();
    }
  } finally {
    await o.stop();
  }
});
