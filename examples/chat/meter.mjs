// Per-thread counters. Rooms and users of one scheduler thread share this module (one copy per thread),
// and bump its counters; one Meter actor per scheduler reads them out for the progress line. No message
// is sent per post or per delivery just to count it. The meter also watches its thread's event-loop
// delay: how long timers (and heartbeats) waited behind the actors' work.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { behaviour } from 'roster-threads';

export const counters = { posts: 0, deliveries: 0, calls: 0, failed: 0 };

export const Meter = behaviour({
  init() {
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    return delay;
  },
  handleCall(_msg, _from, delay) {
    const loop = { p99Ms: delay.percentile(99) / 1e6, maxMs: delay.max / 1e6 };
    delay.reset();
    return { ...counters, loop };
  },
});
