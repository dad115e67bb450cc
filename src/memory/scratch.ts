/**
 * A growable, thread-local byte buffer that encodings are appended to: registry keys (codec.ts) and
 * actor messages (runtime/message-codec.ts). Reused for every encoding, so encoding allocates nothing
 * for common shapes. Never shared between threads.
 *
 * @module
 */
/** A growable byte buffer; one per thread (or per caller). */
export class ScratchWriter {
  /** The bytes; valid up to `len`. Replaced (not resized in place) when it grows. */
  buf: Uint8Array;
  /** A view of `buf`. */
  view: DataView;
  /** `buf` as a Buffer, for native string writes. */
  nbuf: Buffer;
  /** Bytes written. */
  len = 0;
  readonly #initial: number;

  constructor(initialBytes = 4096) {
    this.#initial = initialBytes;
    this.buf = new Uint8Array(initialBytes);
    this.view = new DataView(this.buf.buffer);
    this.nbuf = Buffer.from(this.buf.buffer);
  }

  /** Makes room for `extra` more bytes after `len`. */
  ensure(extra: number): void {
    const need = this.len + extra;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
    this.nbuf = Buffer.from(next.buffer);
  }

  /** Drops a buffer that grew past `maxBytes` (after a large message), back to the initial size. */
  trim(maxBytes = 1 << 20): void {
    if (this.buf.length <= maxBytes || this.len > this.#initial) return;
    this.buf = new Uint8Array(this.#initial);
    this.view = new DataView(this.buf.buffer);
    this.nbuf = Buffer.from(this.buf.buffer);
  }
}

