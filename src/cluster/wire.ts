/**
 * The frames nodes send each other, and their codec. A frame is a plain object tagged by `t`, written
 * with `v8.serialize` (the structured clone format, so messages accept what the local runtime accepts:
 * Maps, bigints, typed arrays, …). `decodeFrame` checks every field; a frame that fails is `null`, and
 * the receiving node drops and counts it.
 *
 * | t | fields | meaning |
 * |---|---|---|
 * | `call` | from, finc, to, tinc, ref, ms, msg | a call to pid `to`; `ms`: time left before its deadline when sent |
 * | `cast`, `info` | from, finc, to, tinc, msg | to `handleCast` / `handleInfo` |
 * | `reply` | ref, ok, value or err `{code, message, reason?}` | the answer to `call` `ref` |
 * | `mon`, `demon` | from, finc, to, tinc, ref | monitor / cancel; the target's node answers `down` |
 * | `down` | ref, reason | monitor `ref`'s process exited |
 * | `claims` | from, finc, ref | which names do you believe you hold? answered by a `reply` |
 *
 * @module
 */
import { deserialize, serialize } from 'node:v8';
import { InvalidMessageError } from '../index.js';

/** Addressing shared by directed frames: sender node and incarnation, target pid and incarnation. */
interface Routed {
  readonly from: string;
  readonly finc: number;
  readonly to: number;
  readonly tinc: number;
}

export type Frame =
  | (Routed & { readonly t: 'call'; readonly ref: number; readonly ms: number; readonly msg: unknown })
  | (Routed & { readonly t: 'cast' | 'info'; readonly msg: unknown })
  | (Routed & { readonly t: 'mon' | 'demon'; readonly ref: number })
  | { readonly t: 'reply'; readonly ref: number; readonly ok: true; readonly value: unknown }
  | { readonly t: 'reply'; readonly ref: number; readonly ok: false; readonly err: ErrorBody }
  | { readonly t: 'down'; readonly ref: number; readonly reason: string }
  | { readonly t: 'claims'; readonly from: string; readonly finc: number; readonly ref: number };

/** An error that crossed nodes. */
export interface ErrorBody {
  readonly code: string;
  readonly message: string;
  readonly reason?: string;
  readonly node?: string;
}

/** A topic frame: the publishing node (its own copy is skipped) and the message. */
export interface TopicFrame {
  readonly from: string;
  readonly msg: unknown;
}

/** Encodes a frame; a message that cannot be cloned throws `InvalidMessageError` (nothing sent). */
export function encodeFrame(f: Frame | TopicFrame): Buffer {
  try {
    return serialize(f);
  } catch (err) {
    throw new InvalidMessageError(`a message cannot cross nodes: ${(err as Error).message}`, { cause: err });
  }
}

const isInt = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x);
const isStr = (x: unknown): x is string => typeof x === 'string';

/** Decodes and checks a frame; null for anything malformed. */
export function decodeFrame(payload: Buffer): Frame | null {
  let f: Record<string, unknown>;
  try {
    f = deserialize(payload) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (typeof f !== 'object' || f === null) return null;
  const routed = isStr(f.from) && isInt(f.finc) && isInt(f.to) && isInt(f.tinc);
  switch (f.t) {
    case 'call': return routed && isInt(f.ref) && typeof f.ms === 'number' && 'msg' in f ? f as Frame : null;
    case 'cast':
    case 'info': return routed && 'msg' in f ? f as Frame : null;
    case 'mon':
    case 'demon': return routed && isInt(f.ref) ? f as Frame : null;
    case 'reply': {
      if (!isInt(f.ref) || typeof f.ok !== 'boolean') return null;
      if (f.ok) return 'value' in f ? f as Frame : null;
      const e = f.err as Record<string, unknown> | null;
      return typeof e === 'object' && e !== null && isStr(e.code) && isStr(e.message) ? f as Frame : null;
    }
    case 'down': return isInt(f.ref) && isStr(f.reason) ? f as Frame : null;
    case 'claims': return isStr(f.from) && isInt(f.finc) && isInt(f.ref) ? f as Frame : null;
    default: return null;
  }
}

/** Decodes a topic frame; null if malformed. */
export function decodeTopicFrame(payload: Buffer): TopicFrame | null {
  try {
    const f = deserialize(payload) as Record<string, unknown>;
    return typeof f === 'object' && f !== null && isStr(f.from) && 'msg' in f ? f as unknown as TopicFrame : null;
  } catch {
    return null;
  }
}

/** The body of an error reply. */
export function errorBody(err: unknown): ErrorBody {
  const e = err as { code?: unknown; message?: unknown; reason?: unknown; node?: unknown } | null;
  return {
    code: typeof e?.code === 'string' ? e.code : 'ROSTER_ERR',
    message: typeof e?.message === 'string' ? e.message : String(err),
    ...(typeof e?.reason === 'string' ? { reason: e.reason } : {}),
    ...(typeof e?.node === 'string' ? { node: e.node } : {}),
  };
}

/** Encodes a name's value for the engine (base64 of the structured clone format). */
export function encodeValue(value: unknown): string {
  return encodeFrame({ from: '', msg: value }).toString('base64');
}

/** Decodes a name's value. */
export function decodeValue(s: string): unknown {
  if (s === '') return undefined;
  return decodeTopicFrame(Buffer.from(s, 'base64'))?.msg;
}
