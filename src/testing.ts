/**
 * Test-only hooks, exported at `roster/testing`. Not part of the stable API.
 *
 * `setCrashHook(fn)` makes every table write call `fn(point)` at each step, in the calling thread only:
 * 'locked' (lock taken), 'intent' (intent recorded), 'slot-hash' (between the two words of a slot),
 * 'published' / 'unpublished' (slot changed, counters not yet), 'rebuild-copy' / 'rebuild-switch'
 * (inside a growth or compaction), 'release' (before the lock is released). A test stops a writer at a
 * point by blocking there, then terminates it, and checks that recovery leaves every slot at its
 * before- or after-image with the lock free.
 *
 * @module
 */
export { setCrashHook } from './memory/table.js';
