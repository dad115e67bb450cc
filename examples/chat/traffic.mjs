// The pure parts of the chat service, shared by the actors and the main thread: seeded random numbers,
// which rooms a user joins, what a post says, and the checksums the consistency check compares.

/** A seeded PRNG (mulberry32): a function returning floats in [0, 1). */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Mixes two integers into a seed (for a per-user PRNG). */
export function seedOf(seed, id) {
  return Math.imul((seed ^ 0x9e3779b9) + id, 0x85ebca6b) ^ (id << 13);
}

/**
 * The rooms user `id` joins: `perUser` distinct rooms out of `rooms`, drawn from the run's seed. The
 * main thread calls it too, to know whom to ask for what at the end.
 */
export function roomsOf(id, { seed, rooms, perUser }) {
  const rnd = prng(seedOf(seed, id));
  const n = Math.min(perUser, rooms);
  const picked = new Set();
  while (picked.size < n) picked.add(Math.floor(rnd() * rooms));
  return [...picked].sort((a, b) => a - b);
}

/** The bus topic of a room. */
export const topicOf = (room) => `room:${room}`;

/** 32-bit FNV-1a of a string. */
export function textHash(s) {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h | 0;
}

/** Folds one post (its seq, its author, its text's hash) into a running checksum of a stream. */
export function fold(h, seq, from, hash) {
  h = (Math.imul(h, 31) + seq) | 0;
  h = (Math.imul(h, 31) + from) | 0;
  return (Math.imul(h, 31) + hash) | 0;
}
