// A chat user: one actor per user, a child of the 'users' supervisor. At init it subscribes to its
// rooms' topics on the event bus; then, first thing after init, it joins each room by `call`, which
// starts the room on demand. Once the traffic is on (the registry's metadata says so, and a `go`
// arrives) it drives itself: a timer sends it a `tick`, and each tick posts to one of its rooms or reads
// a room's history, both by `call`, from its own seeded PRNG. A user restarted after its scheduler died
// finds the traffic on at init and goes on at once.
//
// What it receives from the bus it records per (room, room pid): the first and last seq, how many, a
// checksum, and anomalies (a seq that is not the previous one plus one: a gap, a duplicate or a
// reordering). What rooms acknowledged to it is kept too, and its call latencies: the traffic's (posts
// and history reads) in one histogram, the joins (which start rooms on demand) in another.
import { performance } from 'node:perf_hooks';
import { DynamicSupervisor, EventBus, Runtime, behaviour, call, noReply, ref, reply, self, send, via } from 'roster-threads';
import { newHistogram, record } from './histogram.mjs';
import { counters } from './meter.mjs';
import { fold, prng, seedOf, textHash, topicOf } from './traffic.mjs';

const rooms = new DynamicSupervisor('rooms');
const kRoom = ref(new URL('./room.mjs', import.meta.url), 'Room');
const kMaxAnomalies = 5;

/** A room by name, started on demand: a call to it runs get-or-start first when nobody holds the name. */
const roomVia = (names, room) => rooms.via(via(names, `room:${room}`), { behaviour: kRoom, args: room });

/** A call, timed into `hist` (the traffic's by default); a failure is counted by its code and rethrown. */
async function timed(state, target, msg, hist = state.hist) {
  const t0 = performance.now();
  counters.calls++;
  try {
    const r = await call(target, msg);
    state.lastMs = performance.now() - t0;
    record(hist, state.lastMs * 1000);
    return r;
  } catch (err) {
    counters.failed++;
    const code = err?.code ?? 'error';
    state.errors[code] = (state.errors[code] ?? 0) + 1;
    throw err;
  }
}

/**
 * The next tick: after about `thinkMs`, plus twice the latency of the last call, so that users slow
 * down when the service is slow (as real clients back off) rather than pile work onto it.
 */
function schedule(state) {
  state.ticking = true;
  const delay = state.thinkMs * (0.5 + state.rnd()) + Math.min(2000, 2 * state.lastMs);
  const me = state.pid;
  setTimeout(() => send(me, 'tick'), delay);
}

async function tick(state) {
  const i = Math.floor(state.rnd() * state.rooms.length);
  const room = state.rooms[i];
  const target = state.targets[i];
  try {
    if (state.rnd() < state.postShare) {
      const text = `message ${++state.posted} from user ${state.id}`;
      const ack = await timed(state, target, { post: { from: state.id, text } });
      const key = `${room}:${ack.pid}`;
      let acks = state.acks.get(key);
      if (acks === undefined) state.acks.set(key, (acks = { room, pid: ack.pid, seqs: [], hashes: [] }));
      acks.seqs.push(ack.seq);
      acks.hashes.push(textHash(text));
    } else {
      await timed(state, target, { history: 10 });
    }
  } catch {
    // Counted in state.errors: a room on a scheduler that just died, say. The next tick goes on.
  }
}

/** Joins every room (started on demand); a room that fails 5 times is left out of the check. */
function join(state) {
  return Promise.all(state.rooms.map(async (room, i) => {
    for (let attempt = 1; attempt <= 5; attempt++) {
      try {
        state.joins.set(room, await timed(state, state.targets[i], { join: state.id }, state.joinHist));
        return;
      } catch {
        // its scheduler died meanwhile, say: again
      }
    }
  }));
}

/** A post from the bus, recorded in its (room, room pid) stream. */
function receive(state, m) {
  counters.deliveries++;
  if (!state.stopping) state.received++;
  const key = `${m.room}:${m.pid}`;
  let s = state.streams.get(key);
  if (s === undefined) state.streams.set(key, (s = { room: m.room, pid: m.pid, first: m.seq, last: m.seq - 1, count: 0, hash: 0, anomalies: [] }));
  if (m.seq !== s.last + 1 && s.anomalies.length < kMaxAnomalies) s.anomalies.push(`seq ${m.seq} after ${s.last}`);
  s.last = Math.max(s.last, m.seq);
  s.count++;
  s.hash = fold(s.hash, m.seq, m.from, textHash(m.text));
}

/** Whether everything `want` lists ([room, pid, last seq]) has arrived, or was never owed to this user. */
function drained(state, want) {
  return want.every(([room, pid, last]) => {
    const joined = state.joins.get(room);
    if (last === 0 || joined === undefined || (joined.pid === pid && joined.seq >= last)) return true;
    return (state.streams.get(`${room}:${pid}`)?.last ?? 0) >= last;
  });
}

export const User = behaviour({
  init({ id, rooms: mine, seed, thinkMs, postShare }) {
    const names = Runtime.registry('names');
    const bus = new EventBus(Runtime.registry('bus'));
    const state = {
      id, pid: self(), rooms: mine, targets: mine.map((room) => roomVia(names, room)), rnd: prng(seedOf(seed ^ 0x5eed, id)), thinkMs, postShare,
      lastMs: 0, ticking: false, stopping: false, posted: 0, received: 0, joins: new Map(), streams: new Map(), acks: new Map(),
      hist: newHistogram(), joinHist: newHistogram(), errors: {}, pending: null,
    };
    // Subscribe first, then join: every post the room makes after answering the join reaches us.
    for (const room of mine) bus.subscribe(topicOf(room));
    send(state.pid, 'join'); // joins after init, as a GenServer's handle_continue: a restart is quick
    if (names.meta('traffic').value === 'on') schedule(state);
    return state;
  },

  // Synchronous for deliveries (the common case); a tick returns a promise: the actor handles its next
  // message once the tick's call settled.
  handleInfo(msg, state) {
    if (msg === 'tick') {
      if (state.stopping) return state;
      return tick(state).then(() => {
        schedule(state);
        return state;
      });
    }
    if (msg === 'join') return join(state).then(() => state);
    if (msg === 'go') {
      if (!state.ticking && !state.stopping) schedule(state);
      return state;
    }
    if (typeof msg === 'object' && msg !== null && typeof msg.seq === 'number') {
      receive(state, msg);
      if (state.pending !== null && drained(state, state.pending.want)) {
        reply(state.pending.from, true);
        state.pending = null;
      }
    }
    return state;
  },

  handleCall(msg, from, state) {
    // Stop posting. Answered after the tick in progress (if any) settled: no post is in flight after.
    if (msg === 'stop') {
      state.stopping = true;
      return { posted: state.posted, received: state.received };
    }
    // Answers once every post listed has arrived: a deferred reply, so the caller never sleeps.
    if (msg.drain !== undefined) {
      if (drained(state, msg.drain)) return true;
      state.pending = { from, want: msg.drain };
      return noReply();
    }
    if (msg === 'report') {
      return {
        id: state.id, pid: state.pid, posted: state.posted, received: state.received, hist: state.hist, joinHist: state.joinHist, errors: state.errors,
        joins: [...state.joins].map(([room, j]) => ({ room, pid: j.pid, seq: j.seq })),
        streams: [...state.streams.values()],
        acks: [...state.acks.values()],
      };
    }
    throw new Error(`user ${state.id}: unknown request ${JSON.stringify(msg)}`);
  },
});
