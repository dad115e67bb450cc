/**
 * Takes the README's screenshot of the observer under the chat service's load
 * (`docs/observer-chat.png`): runs the chat service (examples/chat) with an observer, opens the page in
 * headless Chromium after the scheduler kill, and saves it. The service's consistency check still runs.
 *
 * Usage: node dist/scripts/chat-shot.js [--out docs/observer-chat.png] [--seconds 10]
 * The browser: ROSTER_CHROMIUM, else /usr/bin/chromium.
 */
import { parseArgs } from 'node:util';
import { launchChromium } from './lib/chromium.js';
import type { Runtime } from '../src/index.js';
import { Observer } from '../src/observer/index.js';

const { values } = parseArgs({ options: { out: { type: 'string', default: 'docs/observer-chat.png' }, seconds: { type: 'string', default: '10' } } });
const seconds = Number(values.seconds);

interface Chat {
  runChat(o: Record<string, unknown>): Promise<{ consistent: boolean; problems: string[] }>;
}
const { runChat } = (await import(new URL('../../examples/chat/service.mjs', import.meta.url).href)) as Chat;

const chromium = await launchChromium();
const browser = chromium.browser;
try {
  const result = await runChat({
    schedulers: 2,
    seconds,
    quiet: true,
    seed: 1,
    async onStart({ runtime }: { runtime: Runtime }) {
      const observer = await Observer.start({ runtime, intervalMs: 500 });
      console.log(`observer: ${observer.url}`);
      const page = await browser.newPage();
      await page.setViewport({ width: 1500, height: 1400, deviceScaleFactor: 1 });
      await page.goto(observer.url, { waitUntil: 'domcontentloaded' });
      // After the kill (midway) and its recovery: the page's own clock, no sleep here.
      const shot = page.waitForFunction((ms) => performance.now() > ms, { timeout: seconds * 1000 + 30_000, polling: 200 }, seconds * 800)
        .then(async () => {
          await page.click('#actors th[data-sort="mailbox"]');
          await page.addStyleTag({ content: '#actors tbody tr:nth-child(n+9) { display: none; }' });
          await page.screenshot({ path: values.out, fullPage: false }); // the top of the page: the whole of it is many screens long
          console.log(`saved ${values.out}`);
        });
      return async () => {
        await shot;
        await observer.stop();
      };
    },
  });
  console.log(`consistency: ${result.consistent ? 'OK' : result.problems.join('; ')}`);
} finally {
  await chromium.close();
}
