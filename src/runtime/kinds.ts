/**
 * Message kinds, the `kind` byte of an envelope (envelope.ts). One table, so every module agrees.
 *
 * | kind | to | from | ref | body |
 * |---|---|---|---|---|
 * | CALL | actor | caller pid | call ref | the request |
 * | CAST, INFO | actor | sender pid | 0 | the message |
 * | REPLY, REPLY_ERROR | caller's local id | replier | call ref | the value, or `ErrorBody` |
 * | SPAWN | 0 (the scheduler) | caller | call ref | `SpawnRequest` |
 * | STOP | 0 | caller | call ref | `{ pid, reason }` |
 * | MONITOR, DEMONITOR | actor | watcher pid | monitor ref | null |
 * | DOWN | watcher's local id | the exited pid | monitor ref | `{ reason }` |
 * | PING | 0 | caller | call ref | null |
 * | START_CHILD | 0 | caller | call ref | `ChildRequest` (supervisor-partition.ts) |
 * | START_CHILDREN | 0 | the ledger | call ref | `ChildRequest[]`: restarts after a scheduler died; replies with each outcome |
 * | AWAIT_STARTED | 0 | caller | call ref | `{ pid }`: replies once that actor's `init` settled |
 * | TERMINATE_CHILD | 0 | caller | call ref | `{ pid }` |
 * | LEDGER | 0 (the runtime's thread) | a scheduler | 0 | `LedgerReport[]` (supervisor-partition.ts) |
 * | PUBLISH | 0 | publisher | 0 | `{ r: registry id, t: topic, m: message }` (bus.ts) |
 *
 * @module
 */
export const kCall = 1;
export const kCast = 2;
export const kInfo = 3;
export const kReply = 4;
export const kReplyError = 5;
export const kSpawn = 6;
export const kStop = 7;
export const kMonitor = 8;
export const kDemonitor = 9;
export const kDown = 10;
export const kPing = 11;
export const kStartChild = 12;
export const kAwaitStarted = 13;
export const kTerminateChild = 14;
export const kLedger = 15;
export const kPublish = 16;
export const kStartChildren = 17;
