// The consistency check of the chat service, as pure functions over what the actors reported at the
// end (after traffic stopped and every user drained). Each returns a list of problems; none means OK.
import { fold } from './traffic.mjs';

const kMaxListed = 20;

/** A list that keeps the first `kMaxListed` problems and counts the rest. */
export class Problems {
  list = [];
  more = 0;
  add(msg) {
    if (this.list.length < kMaxListed) this.list.push(msg);
    else this.more++;
  }
  get size() {
    return this.list.length + this.more;
  }
  toArray() {
    return this.more > 0 ? [...this.list, `... and ${this.more} more`] : [...this.list];
  }
}

/** The checksum of posts `first..last` of a room incarnation, from its own history. */
function expectedHash(audit, first, last) {
  let h = 0;
  for (let seq = first; seq <= last; seq++) h = fold(h, seq, audit.froms[seq - 1], audit.hashes[seq - 1]);
  return h;
}

/**
 * Posts and deliveries. `audits`: Map room → the room's `audit` answer (rooms alive at the end);
 * `reports`: the users' `report` answers (users alive at the end). Checks that:
 * - every post a room acknowledged in its current incarnation (ack pid = its pid) is in its history,
 *   by the poster, with the poster's text, and no seq was acknowledged twice;
 * - every user received every post it was owed exactly once, in order, intact. A user is owed posts
 *   `s+1..N` of the incarnation that answered its join with seq `s`, and all of a later incarnation
 *   (it subscribed before joining, so before any later incarnation started).
 */
export function checkPosts(audits, reports, problems) {
  const figures = { acks: 0, streams: 0, owed: 0 };
  const ackedBy = new Map(); // room → Map seq → user
  for (const u of reports) {
    for (const a of u.acks) {
      const audit = audits.get(a.room);
      if (audit === undefined || audit.pid !== a.pid) continue; // an earlier incarnation: gone with it
      let seen = ackedBy.get(a.room);
      if (seen === undefined) ackedBy.set(a.room, (seen = new Map()));
      a.seqs.forEach((seq, i) => {
        figures.acks++;
        if (!(seq >= 1 && seq <= audit.seq)) problems.add(`room ${a.room} acknowledged seq ${seq} to user ${u.id}, but its history ends at ${audit.seq}`);
        else if (seen.has(seq)) problems.add(`room ${a.room} acknowledged seq ${seq} twice (users ${seen.get(seq)} and ${u.id})`);
        else if (audit.froms[seq - 1] !== u.id || audit.hashes[seq - 1] !== a.hashes[i]) {
          problems.add(`room ${a.room} acknowledged seq ${seq} to user ${u.id}, but its history holds another post there (by user ${audit.froms[seq - 1]})`);
        }
        seen.set(seq, u.id);
      });
    }
    for (const j of u.joins) {
      const audit = audits.get(j.room);
      if (audit === undefined) continue;
      const owedFrom = j.pid === audit.pid ? j.seq + 1 : 1;
      const who = `user ${u.id}, room ${j.room} (pid ${audit.pid}, ${audit.seq} posts)`;
      const s = u.streams.find((x) => x.room === j.room && x.pid === audit.pid);
      if (owedFrom <= audit.seq) figures.owed += audit.seq - owedFrom + 1;
      if (s === undefined) {
        if (owedFrom <= audit.seq) problems.add(`${who}: received none of posts ${owedFrom}..${audit.seq}`);
        continue;
      }
      figures.streams++;
      if (s.anomalies.length > 0) problems.add(`${who}: a gap, a duplicate or a reordering: ${s.anomalies.join(', ')}`);
      else if (s.count !== s.last - s.first + 1) problems.add(`${who}: ${s.count} deliveries for seqs ${s.first}..${s.last}`);
      else if (s.first > owedFrom) problems.add(`${who}: missed posts ${owedFrom}..${s.first - 1}`);
      else if (s.last !== audit.seq) problems.add(`${who}: received up to ${s.last} only`);
      else if (s.hash !== expectedHash(audit, s.first, s.last)) problems.add(`${who}: posts ${s.first}..${s.last} arrived altered (checksum)`);
    }
  }
  return figures;
}

/**
 * The registries hold exactly the live actors. `rows`: every scheduler's `listActors()`; `names`: the
 * unique registry of names; `bus`: the duplicate registry of subscriptions.
 */
export function checkRegistries(rows, names, bus, problems) {
  const pids = new Set();
  let named = 0;
  let held = 0;
  let subscriptions = 0;
  for (const row of rows) {
    if (pids.has(row.pid)) problems.add(`pid ${row.pid} is listed by two schedulers`);
    pids.add(row.pid);
    let own = 0;
    for (const n of row.names) {
      if (n.startsWith(`${bus.name}:`)) {
        subscriptions++;
        continue;
      }
      if (!n.startsWith(`${names.name}:`)) continue;
      own++;
      const key = n.slice(names.name.length + 1);
      const holder = names.whereis(key);
      if (holder !== row.pid) problems.add(`name ${key} points at ${holder ?? 'nobody'}, but its actor is ${row.pid}`);
    }
    if (own > 0) named++;
    held += own;
  }
  const count = names.count();
  if (count !== held) problems.add(`the names registry holds ${count} entries, but the ${named} live named actors hold ${held}`);
  const subs = bus.count();
  if (subs !== subscriptions) problems.add(`the bus registry holds ${subs} subscriptions, but the live actors made ${subscriptions}`);
  return { named, held, subscriptions };
}
