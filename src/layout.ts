/**
 * The shared-memory layout, defined once. No other module uses a bare numeric offset.
 *
 * All offsets are in 32-bit words of an `Int32Array` over the buffer. Hot words that different threads
 * write are on separate 64-byte cache lines.
 *
 * ## Partition buffer (one growable SharedArrayBuffer per partition)
 *
 * ```
 *  word 0                16               32               48               64
 *  ┌────────────────────┬────────────────┬────────────────┬────────────────┐
 *  │ line 0: read-mostly│ line 1: lock + │ line 2: counts │ line 3: lock() │
 *  │ magic ver epoch    │ intent record  │ live used top  │ change counter,│
 *  │ bank0{base,cap,    │ (writer owned) │ serial         │ its waiters;   │
 *  │  arena} bank1{..}  │                │ liveWords      │ mod lo/hi      │
 *  └────────────────────┴────────────────┴────────────────┴────────────────┘
 *  then the per-owner count table (kMaxThreads words: entries per owner thread slot),
 *  then bank regions, anywhere after the header (a bank is re-placed at the end when it must grow):
 *  ┌──────────────────────────────────┬──────────────────────────────────────────┐
 *  │ slots: cap × [offset, hash]      │ arena: immutable entry blobs (bump)       │
 *  └──────────────────────────────────┴──────────────────────────────────────────┘
 * ```
 *
 * A slot is two words: `offset` (the publish point: kEmpty, kTomb, or the word offset of a blob) and
 * `hash` (22 bits of the key's hash as a filter, and the owner's thread slot; written before `offset`). An entry blob, word-aligned, never changes while its bank
 * is active:
 *
 * ```
 *  ┌──────┬─────────┬──────────┬────────┬─────────┬────────┬─────────┬────────┬──────────┬──────────┐
 *  │ hash │ ownerInc│ ownerLoc │ serial │ keyTag  │ keyLen │ valTag  │ valLen │ key data │ val data │
 *  └──────┴─────────┴──────────┴────────┴─────────┴────────┴─────────┴────────┴──────────┴──────────┘
 *    key data: UTF-16 units (string keys) or canonical bytes (other keys), padded to 8 bytes;
 *    val data: 8-byte aligned; float64, UTF-16 units or v8-serialized bytes, per valTag.
 * ```
 *
 * The active bank is `epoch & 1`. Compaction and growth build the other bank while holding the lock,
 * then publish it with one store to `epoch`. Readers read `epoch` before and after a probe and retry on
 * change, so a bank that readers may still be reading is only rewritten after the epoch moved on.
 *
 * ## Domain buffer (one per process tree; shared by every registry created from it)
 *
 * ```
 *  header line (16 words): magic, version, gen counter, random domain id, deaths declared,
 *  deaths swept, heartbeat ms, coordinator incarnation, registries open, fences, settled
 *  thread slots: kMaxThreads × 16 words (one cache line each):
 *   ┌──────┬──────┬────────────────┬───────────┬───────────┬────────┬────────────┬──────────┬────────┬──────────┐
 *   │ live │ last │ state          │ heartbeat │ nextLocal │ reason │ parent tid │ doorbell │ parked │ reserved │
 *   │      │      │ tid << 3 | code│           │           │        │            │ (mail)   │ (mail) │ 9..15    │
 *   └──────┴──────┴────────────────┴───────────┴───────────┴────────┴────────────┴──────────┴────────┴──────────┘
 * ```
 * `doorbell` and `parked` belong to the thread's mailroom (src/runtime/mailroom.ts): senders bump the
 * doorbell after publishing mail; `parked` says whether this incarnation has a mailroom open and
 * whether it sleeps on the doorbell (see kTParked).
 * `live` holds the incarnation while the thread is alive and 0 once it is fenced or declared dead, so
 * a liveness check is one load. `last` keeps the incarnation after death, for sweeping. The state word
 * carries the owning thread's `threadId` with the state code, so one CAS claims a slot *and* names
 * its thread (see the state machine in domain.ts).
 *
 * @module
 */

export const kLayoutVersion = 3;
export const kPartitionMagic = 0x52535450; // 'RSTP'
export const kDomainMagic = 0x5253544d; // 'RSTM'

// ── Partition header ───────────────────────────────────────────────────────────────────────────
/** Thread slots in a domain (also the size of each partition's per-owner count table). */
export const kMaxThreads = 1024;
/**
 * After the four header lines: entries per owner thread slot (`inc & (kMaxThreads - 1)`), kept by
 * writers under the lock. The sweeper skips a partition where no dead thread has entries, and
 * `keys(pid)` skips partitions where the pid's thread has none.
 */
export const kHOwners = 64;
export const kHeaderWords = kHOwners + kMaxThreads;
/** Line 0: read-mostly. */
export const kHMagic = 0;
export const kHVersion = 1;
export const kHEpoch = 2;
export const kHKind = 3;
/** Bank descriptors: base (word offset), capacity (slots, a power of two), arena size (words). */
export const kHBankBase = 4; // + 3 * bank
export const kBankBase = 0;
export const kBankCap = 1;
export const kBankArena = 2;
export const kBankDescWords = 3;
/** Line 1: the writer lock and its intent record. */
export const kHLock = 16;
export const kHLockWaiters = 17;
export const kHIntentOp = 18;
export const kHIntentSlot = 19;
export const kHIntentOld = 20;
export const kHIntentNew = 21;
/**
 * Recoveries in flight (each recoverer adds 1 before its CAS and subtracts 1 after its recount). While
 * it is 0 and the lock is held by a thread that is not stopped, the per-owner counts of stopped
 * threads are exact, so the coordinator may skip a busy partition where they are 0.
 */
export const kHRecovering = 22;
/** Line 2: counters, written only under the lock. */
export const kHLive = 32;
export const kHUsed = 33;
export const kHArenaTop = 34;
export const kHSerial = 35;
export const kHLiveWords = 36;
/**
 * Statistics for the observer (u32, wrapping): rebuilds into a larger bank (growth), other rebuilds
 * (compaction, sweeps), and locks recovered from stopped writers. Bumped atomically under the lock.
 */
export const kHGrowths = 37;
export const kHCompactions = 38;
export const kHRecoveries = 39;
/** Bumped (and notified) after every removal; `lock()` waiters sleep on it. */
export const kHChange = 48;
/** How many `lock()` waiters are parked on kHChange (removals notify only when some are). */
export const kHChangeWaiters = 49;
/**
 * Modification counter, a seqlock over every slot and epoch store of the partition: odd while a write
 * is changing slots, even otherwise; `hi` counts wraps of `lo`. The lookup cache validates a hit with
 * three loads of this line instead of a random slot load.
 */
export const kHModLo = 56;
export const kHModHi = 57;

/** Intent ops recorded before a mutation (for crash recovery). */
export const kOpNone = 0;
export const kOpPublish = 1;
export const kOpRemove = 2;
export const kOpCompact = 3;

// ── Slots ──────────────────────────────────────────────────────────────────────────────────────
export const kSlotWords = 2;
export const kSlotOffset = 0;
export const kSlotHash = 1;
/**
 * A slot's hash word: the low 22 bits of the key's hash (a filter; the probe index uses the full hash)
 * and, above them, the owner's thread slot, so a sweep can tell a dead thread's entries from the slot
 * array alone, without reading their blobs.
 */
export const kSlotHashBits = 0x003fffff;
export const kSlotOwnerShift = 22;
/** Slot offset values. Real blob offsets are ≥ kHeaderWords, so they never collide with these. */
export const kEmpty = 0;
export const kTomb = 1;
/** Maximum load (live + tombstones) before a rehash, as a fraction of capacity. */
export const kMaxLoad = 0.5;
/** Smallest arena of a bank, in words. */
export const kMinArenaWords = 1024;

/**
 * The size of a new partition asked for `initialCapacity` slots: its slot capacity (a power of two, at
 * least 8), its arena (8 words a slot, at least kMinArenaWords) and its buffer's words (header, slots,
 * arena). Pure: partition allocation and option validation compute the same numbers.
 */
export function initialPartitionSize(initialCapacity: number): { cap: number; arena: number; words: number } {
  const cap = Math.max(8, 2 ** Math.ceil(Math.log2(initialCapacity)));
  const arena = Math.max(kMinArenaWords, cap * 8);
  return { cap, arena, words: kHeaderWords + cap * kSlotWords + arena };
}

// ── Entry blobs ────────────────────────────────────────────────────────────────────────────────
export const kBlobHash = 0;
export const kBlobOwnerInc = 1;
export const kBlobOwnerLocal = 2;
export const kBlobSerial = 3;
export const kBlobKeyTag = 4;
export const kBlobKeyLen = 5;
export const kBlobValTag = 6;
export const kBlobValLen = 7;
export const kBlobHeaderWords = 8;

/** Key tags: string keys are stored as UTF-16 units; every other key as canonical bytes. */
export const kKeyString = 1;
export const kKeyBytes = 2;

/** Value tags. */
export const kValUndefined = 0;
export const kValNull = 1;
export const kValFalse = 2;
export const kValTrue = 3;
export const kValInt = 4; // inline in valLen
export const kValFloat = 5; // 8 bytes
export const kValString = 6; // valLen UTF-16 units
export const kValSerialized = 7; // valLen bytes of v8.serialize

// ── Registry control block (one small buffer per registry) ─────────────────────────────────────
export const kControlWords = 16;
/** 1 once the registry is closed (Elixir's "unknown registry" from then on). */
export const kCClosed = 0;
/** Number of runtime subscribers; writers post events to them only while it is above 0. */
export const kCSubscribers = 1;
/** 1 once the coordinator knows the registry (creation waits for it while a coordinator runs). */
export const kCAnnounced = 2;

// ── Domain ─────────────────────────────────────────────────────────────────────────────────────
/** An incarnation is `generation << kThreadSlotBits | slot`: 12 bits of per-slot generation, 10 of slot. */
export const kThreadSlotBits = 10;
export const kGenBits = 12;
/** A pid is `incarnation × 2^kLocalBits + local`: 22 + 31 = 53 bits, a safe integer. */
export const kLocalBits = 31;
export const kLocalLimit = 2 ** kLocalBits;
export const kDomainHeaderWords = 16;
export const kDMagic = 0;
export const kDVersion = 1;
export const kDGen = 2;
export const kDId = 3;
/** Deaths declared so far, and deaths fully swept (statistics; `sync()` reads the slots themselves). */
export const kDDeclared = 4;
export const kDSwept = 5;
/** Heartbeat period in ms, set by the coordinator (threads read it when they start beating). */
export const kDHeartbeatMs = 6;
/** Incarnation of the running coordinator; kCoordStarting while one starts; 0 when none runs. */
export const kDCoordinator = 7;
/** Registries open in this domain: the coordinator marks deaths swept only once it knows them all. */
export const kDRegistries = 8;
/** Threads fenced by the coordinator so far (declared stalled while possibly still running). */
export const kDFenced = 9;
/**
 * 1 while the running coordinator knows every open registry and has swept each of them once (`sync()`
 * waits for it too: deaths freed while no coordinator ran are swept by that first sweep).
 */
export const kDSettled = 10;
/** kDCoordinator while `Coordinator.start` is starting the thread. */
export const kCoordStarting = -1;
export const kDThreadWords = 16;
export const kTLive = 0;
export const kTLast = 1;
/** `threadId << kStateBits | state code`: one word, so one CAS both claims a slot and names its thread. */
export const kTState = 2;
export const kTHeartbeat = 3;
export const kTNextLocal = 4;
export const kTReason = 5;
/** The `threadId` of the thread that created this one (if it had loaded Roster), or -1. */
export const kTParent = 6;
/** Mail doorbell: bumped by every sender after it publishes mail to this thread (mailroom.ts). */
export const kTDoorbell = 7;
/**
 * Mailroom state of this slot's incarnation `inc`: `inc` while its mailroom is open and awake,
 * `inc ^ kParkedFlip` (mailroom.ts) while it sleeps on the doorbell (senders then notify), anything else (0, or a
 * previous incarnation's value) while it has no mailroom: mail to it is refused.
 */
export const kTParked = 8;
export const kDomainWords = kDomainHeaderWords + kMaxThreads * kDThreadWords;

/** Thread slot state codes (low kStateBits bits of kTState); the state machine is in domain.ts. */
export const kStateBits = 3;
export const kStateMask = (1 << kStateBits) - 1;
export const kStateFree = 0;
export const kStateClaiming = 1;
export const kStateAlive = 2;
export const kStateFenced = 3;
export const kStateDead = 4;
/** Largest threadId a slot's state word can carry. */
export const kMaxThreadId = 2 ** (31 - kStateBits) - 1;

/** Word offset of a thread slot in the domain buffer. */
export function threadBase(slot: number): number {
  return kDomainHeaderWords + slot * kDThreadWords;
}
