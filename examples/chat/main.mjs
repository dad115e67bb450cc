// The chat service, from the command line: `npm start` (after `npm run build`), or
//
//   node examples/chat/main.mjs [--schedulers N] [--users N] [--rooms N] [--seconds S] [--no-kill] [--seed X] [--think-ms T] [--observe] [--json]
//
// Prints a progress line while it runs, then a table of figures and the verdict of the consistency
// check; exits 1 if the check failed, 2 on a bad flag.
import { parseArgs } from 'node:util';
import { defaults, runChat } from './service.mjs';

const usage = 'usage: npm start -- [--schedulers N] [--users N] [--rooms N] [--seconds S] [--kill | --no-kill] [--seed X] [--think-ms T] [--observe] [--json]';

function parse(argv) {
  const { values } = parseArgs({
    args: argv.filter((a) => a !== '--no-kill'),
    options: {
      schedulers: { type: 'string' }, users: { type: 'string' }, rooms: { type: 'string' }, seconds: { type: 'string' },
      seed: { type: 'string' }, 'think-ms': { type: 'string' }, kill: { type: 'boolean' }, observe: { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  const num = (name, integer, flag = name) => {
    const raw = values[flag];
    if (raw === undefined) return defaults[name];
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isSafeInteger(n))) throw new Error(`--${flag} expects a ${integer ? 'positive integer' : 'number > 0'}, got '${raw}'`);
    return n;
  };
  return {
    help: values.help === true, observe: values.observe === true, json: values.json === true,
    options: {
      schedulers: num('schedulers', true), users: num('users', true), rooms: num('rooms', true), seconds: num('seconds', false),
      thinkMs: num('thinkMs', false, 'think-ms'),
      seed: values.seed === undefined ? defaults.seed : Number.parseInt(values.seed, 10) | 0,
      kill: !argv.includes('--no-kill'),
    },
  };
}

/** The observer (a web page over the running system) is optional: started when the package has one. */
async function observe({ runtime }) {
  let Observer;
  try {
    ({ Observer } = await import('roster-threads/observer'));
  } catch {
    console.log('observer: not available in this build of roster-threads');
    return null;
  }
  const observer = await Observer.start({ runtime });
  console.log(`observer: ${observer.url} (while the service runs)`);
  return () => observer.stop();
}

const fmt = (n) => Math.round(n).toLocaleString('en-US');
/** A latency: in µs below a millisecond, else in ms. */
const dur = (us) => (us < 1000 ? `${fmt(us)} µs` : `${(us / 1000).toLocaleString('en-US', { maximumFractionDigits: us < 10_000 ? 2 : us < 100_000 ? 1 : 0 })} ms`);

function table(r) {
  const rows = [
    ['posts/s', fmt(r.postsPerSec)],
    ['deliveries/s', fmt(r.deliveriesPerSec)],
    ['call latency p50', dur(r.callP50Us)],
    ['call latency p99', `${dur(r.callP99Us)}   (${fmt(r.calls)} calls: posts and history reads)`],
    ['join latency', `p50 ${dur(r.joinP50Us)}, p99 ${dur(r.joinP99Us)}   (${fmt(r.joins)} joins, each starting its room on demand, most while the users start)`],
  ];
  const failed = Object.entries(r.failedCalls);
  if (failed.length > 0) rows.push(['failed calls', failed.map(([code, n]) => `${fmt(n)} ${code}`).join(', ')]);
  r.actorsPerScheduler.forEach((a, i) => {
    const note = r.killed?.index === i ? '   (the replacement of the killed one)' : '';
    rows.push([i === 0 ? 'actors per scheduler' : '', `#${i}: ${fmt(a.actors)}  (${fmt(a.users)} users, ${fmt(a.rooms)} rooms)${note}`]);
  });
  const { users, rooms } = r.supervisors;
  // A room whose scheduler died may be started again by a user's get-or-start before its supervisor
  // restarts it: then it counts as a start, and the supervisor's restart as an exit (the name was taken).
  const again = Math.max(0, rooms.started - r.roomsAlive);
  rows.push(['restarts', `${fmt(r.restarts)}   (users ${fmt(users.restarts)}, rooms ${fmt(rooms.restarts)}` +
    `${again > 0 ? `, and ${fmt(again)} rooms started again by a get-or-start that came first` : ''}; gave up on ${fmt(users.gaveUp + rooms.gaveUp)})`]);
  if (r.killed === null) rows.push(['recovery', 'no scheduler killed (--no-kill)']);
  else {
    const ms = r.recoveryMs === null ? 'never' : dur(r.recoveryMs * 1000);
    rows.push(['recovery', `${ms}   (scheduler #${r.killed.index} killed at ${(r.killed.atMs / 1000).toFixed(1)} s with ${fmt(r.killed.actors)} actors; ${fmt(r.killed.children ?? 0)} of its children restarted)`]);
  }
  const others = r.deaths.filter((d) => r.killed === null || d.index !== r.killed.index || d.reason !== 'terminated');
  for (const d of others) {
    const when = d.atMs < 0 ? 'while the users started' : `at ${(d.atMs / 1000).toFixed(1)} s`;
    rows.push(['also died', `scheduler #${d.index} ${when}: ${d.reason}${d.reason === 'stalled' ? ' (its event loop was blocked past the coordinator\'s stallMs)' : ''}; recovered in ${d.recoveredMs === null ? '—' : dur(d.recoveredMs * 1000)}`]);
  }
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`).join('\n');
}

function verdict(r) {
  const c = r.checked;
  if (r.consistent) {
    return `consistency: OK  (${fmt(r.roomsAlive)} rooms, ${fmt(c.acks)} acknowledged posts found in their rooms' histories; ${fmt(c.users)} users ` +
      `received all ${fmt(c.owed)} deliveries owed to them exactly once, in order; ${fmt(c.held)} names = ${fmt(c.named)} live named actors, ${fmt(c.subscriptions)} subscriptions)`;
  }
  return `consistency: FAILED, ${r.problems.length} problem(s):\n${r.problems.map((p) => `  - ${p}`).join('\n')}`;
}

let args;
try {
  args = parse(process.argv.slice(2));
} catch (err) {
  console.error(`chat: ${err.message}\n${usage}`);
  process.exit(2);
}
if (args.help) {
  console.log(usage);
  process.exit(0);
}
const o = args.options;
if (!args.json) console.log(`chat service: ${o.schedulers} schedulers, ${fmt(o.users)} users, ${fmt(o.rooms)} rooms, ${o.seconds} s, seed ${o.seed}${o.kill ? ', one scheduler killed midway' : ''}`);
const results = await runChat({ ...o, quiet: args.json, ...(args.observe ? { onStart: observe } : {}) });
if (args.json) console.log(JSON.stringify(results));
else console.log(`\n${table(results)}\n\n${verdict(results)}`);
process.exitCode = results.consistent ? 0 : 1;
