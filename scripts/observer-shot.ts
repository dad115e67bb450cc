/**
 * Takes the README's screenshot of the observer (`docs/observer.png`): starts a small live system
 * under load, opens the observer's page in headless Chromium and saves the page.
 *
 * The system: three schedulers; 300 named room actors (counters) in a unique registry of four
 * partitions; a traffic loop of casts and calls from the main thread; sessions registered at a steady
 * pace (a creeping `count()` line, as a leak would show); one actor whose mailbox fills on purpose; and,
 * a few seconds in, one scheduler whose event loop blocks past the stall deadline, so the timeline shows
 * the stall, the death and the sweep.
 *
 * Usage: node dist/scripts/observer-shot.js [--out docs/observer.png] [--seconds 12]
 * The browser: ROSTER_CHROMIUM, else /usr/bin/chromium.
 */
import { parseArgs } from 'node:util';
import { launchChromium } from './lib/chromium.js';
import { Registry, Runtime, call, cast, ref, spawn, via, type Pid } from '../src/index.js';
import { Observer } from '../src/observer/index.js';

const { values } = parseArgs({ options: { out: { type: 'string', default: 'docs/observer.png' }, seconds: { type: 'string', default: '12' } } });
const seconds = Number(values.seconds);
const kB = new URL('../test/fixtures/observer-actors.js', import.meta.url).href;

const rooms = Registry.create({ keys: 'unique', name: 'rooms', partitions: 4 });
const sessions = Registry.create({ keys: 'duplicate', name: 'sessions', partitions: 2 });
const rt = await Runtime.start({ schedulers: 3, registries: [rooms as unknown as Registry<never>], coordinator: { stallMs: 1000 } });
const pids: Pid[] = [];
for (let i = 0; i < 300; i++) pids.push(await spawn(ref(kB, 'Counter'), null, { name: via(rooms, `room:${i}`), scheduler: i % 3 }));
const flooded = await spawn(ref(kB, 'Holder'), null, { name: via(rooms, 'room:lobby'), scheduler: 0 });
cast(flooded, 'hold');
for (let i = 0; i < 1500; i++) cast(flooded, i);
const blocker = await spawn(ref(kB, 'Blocker'), null, { scheduler: 2 });

const observer = await Observer.start({ runtime: rt, registries: [sessions], intervalMs: 500 });
console.log(`observer: ${observer.url}`);

let running = true;
let n = 0;
const traffic = (async () => {
  while (running) {
    for (let i = 0; i < 200; i++) cast(pids[(n + i * 7) % pids.length] as Pid, i);
    await Promise.all(Array.from({ length: 20 }, (_, i) => call(pids[(n + i * 13) % pids.length] as Pid, i % 4 === 0 ? 1 : 0).catch(() => 0)));
    if (n % 5 === 0) sessions.register(`user:${n % 40}`, { since: Date.now() });
    n++;
    await new Promise((r) => setTimeout(r, 5));
  }
})();
setTimeout(() => cast(blocker, { blockMs: 2500 }), (seconds * 1000) / 3);

const chromium = await launchChromium();
const browser = chromium.browser;
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1500, height: 1000, deviceScaleFactor: 1 });
  await page.goto(observer.url, { waitUntil: 'domcontentloaded' });
  await page.waitForFunction((ms) => performance.now() > ms, { timeout: seconds * 1000 + 10_000, polling: 200 }, seconds * 1000);
  await page.click('#actors th[data-sort="mailbox"]');
  // Keep the actors table to a screenful.
  await page.addStyleTag({ content: '#actors tbody tr:nth-child(n+9) { display: none; }' });
  await page.screenshot({ path: values.out, fullPage: true });
  console.log(`saved ${values.out}`);
} finally {
  running = false;
  await traffic;
  await chromium.close();
  await observer.stop();
  await rt.stop();
  rooms.close();
  sessions.close();
}
