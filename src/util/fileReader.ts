// Reads small kernel files (procfs, sysfs) with one reusable buffer: open, read, close, as a C
// program would. fs.readFileSync costs an extra fstat and a fresh buffer per call, which is most of
// the refresh time at thousands of processes. Synchronous on purpose: these reads do not block
// on disk, and the thread-pool round trip of async fs would cost more than the read itself.

import { closeSync, openSync, readSync } from 'node:fs';

/** Well under a page (4 KiB): a short read that leaves the file this small is its end. */
const SMALL_FILE = 2048;

export class FileReader {
  private buf: Buffer;

  constructor(initialSize = 16 * 1024) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  /** The whole file as latin1 text (byte-preserving, and fast: no UTF-8 validation). */
  readText(path: string): string {
    const n = this.readInto(path);
    return this.buf.toString('latin1', 0, n);
  }

  /** The whole file as UTF-8 text (for names that users see: comm, labels). */
  readUtf8(path: string): string {
    const n = this.readInto(path);
    return this.buf.toString('utf8', 0, n);
  }

  /**
   * Reads the whole file into the reader's own buffer and returns its length: the bytes are
   * `bytes()[0, n)`, valid until the next read. For a parser that needs no string of them.
   */
  readRaw(path: string): number {
    return this.readInto(path);
  }

  /** The buffer the last readRaw filled (it may be replaced by a bigger one on a later read). */
  bytes(): Buffer {
    return this.buf;
  }

  /** The whole file as raw bytes (a copy). */
  readBytes(path: string): Buffer {
    const n = this.readInto(path);
    return Buffer.from(this.buf.subarray(0, n));
  }

  private readInto(path: string): number {
    const fd = openSync(path, 'r');
    try {
      let total = 0;
      for (;;) {
        if (total === this.buf.length) {
          const bigger = Buffer.allocUnsafe(this.buf.length * 2);
          this.buf.copy(bigger, 0, 0, total);
          this.buf = bigger;
        }
        const room = this.buf.length - total;
        const n = readSync(fd, this.buf, total, room, null);
        total += n;
        if (n === 0) return total;
        // A short read of a small file is its end: procfs and sysfs hand over a small file in one
        // read, so the usual read-until-zero would cost a second system call per file. A larger
        // procfs file (a seq_file such as cpuinfo or maps, a long cmdline) comes one page per
        // read, so past SMALL_FILE bytes only a read of zero ends it.
        if (n < room && total < SMALL_FILE) return total;
      }
    } finally {
      closeSync(fd);
    }
  }
}

/** The errno code of a failed fs call ('ENOENT', 'EACCES', ...), or undefined. */
export function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined;
}

/**
 * Parses a sysfs file holding one non-negative integer; throws a message naming the file. Values
 * past 2^53 are refused: a double cannot hold them exactly, and a 400-digit one would become
 * Infinity and poison every total computed from it.
 */
export function parseCounter(text: string, path: string): number {
  const t = text.trim();
  if (!/^\d+$/.test(t)) throw new Error(`${path}: expected a non-negative integer, got ${JSON.stringify(t.slice(0, 40))}`);
  const n = Number(t);
  if (!Number.isSafeInteger(n)) throw new Error(`${path}: expected an integer below 2^53, got ${t.length > 40 ? `${t.slice(0, 20)}... (${t.length} digits)` : t}`);
  return n;
}
