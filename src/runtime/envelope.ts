/**
 * The envelope of a message between threads: a fixed 32-byte header, then the body in the message
 * codec's encoding (message-codec.ts). Pure computation; any thread.
 *
 * ```
 *  byte 0        8          16              24        28     29       32
 *  ┌────────────┬──────────┬───────────────┬─────────┬──────┬────────┬──────────────────┐
 *  │ from (f64) │ ref (f64)│ deadline (f64)│ to (u32)│ kind │ 0 0 0  │ body (codec)      │
 *  └────────────┴──────────┴───────────────┴─────────┴──────┴────────┴──────────────────┘
 * ```
 * Little-endian. In a ring the header starts 8-byte aligned.
 *
 * @module
 */
import { InvalidMessageError, describe } from '../errors.js';
import { decodeMessage, encodeMessage, type ScratchWriter } from './message-codec.js';

/**
 * One message: `kind` (u8, the runtime's message kind), `to` (u32, the receiver-local actor id, 0 = the
 * thread itself), `from` (a pid), `ref` (a call id, or 0), `deadline` (ms since the epoch, 0 = none), `body`.
 */
export interface Envelope {
  kind: number;
  to: number;
  from: number;
  ref: number;
  deadline: number;
  body: unknown;
}

/** Envelope header: from f64, ref f64, deadline f64, to u32, kind u8, 3 bytes of padding; then the body. */
export const kEnvelopeHeaderBytes = 32;

/** Appends an envelope (header, then body) to `w`. Throws `InvalidMessageError`; `w.len` is then unchanged. */
export function encodeEnvelope(env: Envelope, w: ScratchWriter): void {
  const { kind, to, from, ref, deadline } = env;
  if ((kind & 0xff) !== kind || to >>> 0 !== to || typeof from !== 'number' || typeof ref !== 'number' || typeof deadline !== 'number') {
    throw new InvalidMessageError(`an envelope needs kind (u8), to (u32), from, ref and deadline (numbers), got kind ${describe(kind)}, to ${describe(to)}`);
  }
  const start = w.len;
  w.ensure(kEnvelopeHeaderBytes);
  const v = w.view;
  v.setFloat64(start, from, true);
  v.setFloat64(start + 8, ref, true);
  v.setFloat64(start + 16, deadline, true);
  v.setUint32(start + 24, to, true);
  v.setUint32(start + 28, kind, true);
  w.len = start + kEnvelopeHeaderBytes;
  try {
    encodeMessage(env.body, w);
  } catch (e) {
    w.len = start;
    throw e;
  }
}

/** Decodes the envelope in `u8[start, start + len)` (a copy; `view` is a DataView of all of `u8.buffer`). */
export function decodeEnvelope(u8: Uint8Array, view: DataView, start: number, len: number): Envelope {
  if (len < kEnvelopeHeaderBytes) throw new RangeError('corrupt envelope: too short');
  return {
    kind: view.getUint8(start + 28),
    to: view.getUint32(start + 24, true),
    from: view.getFloat64(start, true),
    ref: view.getFloat64(start + 8, true),
    deadline: view.getFloat64(start + 16, true),
    body: decodeMessage(u8, start + kEnvelopeHeaderBytes, start + len),
  };
}
