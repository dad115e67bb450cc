// A chat room: one actor per room, a child of the 'rooms' supervisor, started on demand by whoever
// needs it first (`getOrStart`). Every post gets the next sequence number, goes into the history and
// out on the event bus, topic `room:<id>`; the poster's call is answered with `{ seq, pid }`.
//
// History: the last few posts whole (for `history` reads), and for every post of this incarnation its
// author and the hash of its text, so the consistency check is exact. A restarted room starts afresh at
// seq 1 under a new pid: what a room acknowledged belongs to the incarnation that acknowledged it.
import { EventBus, Runtime, behaviour, self } from 'roster-threads';
import { counters } from './meter.mjs';
import { textHash, topicOf } from './traffic.mjs';

const kRecent = 50;

export const Room = behaviour({
  init(id) {
    return { id, pid: self(), bus: new EventBus(Runtime.registry('bus')), seq: 0, froms: [], hashes: [], recent: [], joins: 0 };
  },

  handleCall(msg, _from, state) {
    if (msg.post !== undefined) {
      const { from, text } = msg.post;
      const seq = ++state.seq;
      const post = { room: state.id, seq, pid: state.pid, from, text };
      state.froms.push(from);
      state.hashes.push(textHash(text));
      state.recent.push(post);
      if (state.recent.length > kRecent) state.recent.shift();
      state.bus.publish(topicOf(state.id), post);
      counters.posts++;
      return { seq, pid: state.pid };
    }
    if (msg.history !== undefined) return state.recent.slice(-msg.history);
    // A user joined (after subscribing): posts after `seq` are bound to reach it.
    if (msg.join !== undefined) {
      state.joins++;
      return { pid: state.pid, seq: state.seq };
    }
    // For the consistency check: this incarnation's every post.
    if (msg === 'audit') return { pid: state.pid, seq: state.seq, froms: state.froms, hashes: state.hashes, joins: state.joins };
    throw new Error(`room ${state.id}: unknown request ${JSON.stringify(msg)}`);
  },
});
