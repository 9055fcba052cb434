// Prometheus's answer to an instant query, read as it arrives. Each series of `data.result` is
// parsed on its own as soon as its last byte has arrived, and handed over; the rest of the answer
// (status, errorType, error, resultType, warnings) is kept and parsed at the end. At 5,000
// containers an answer is about 2 MB: read whole, it was held as bytes, as one string and as one
// parsed tree, five answers at a time, until the last arrived. Read this way, what is held is the
// part of a chunk that a series spans, and what the caller keeps of each series.
//
// The reader only tracks JSON's structure (strings, nesting, the keys of the two outer objects),
// which UTF-8 allows byte by byte: every byte of a multi-byte character is >= 0x80. The answer is
// still checked as JSON.parse would check it: each series is parsed by JSON.parse (blanks between
// separators too, which it refuses), the rest as well. A `data.result` that is not where
// Prometheus puts it stays in the rest and is handed over at the end.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
/** The depth of the series: inside the root object, `data` and the `result` array. */
const SERIES_DEPTH = 3;

export class VectorReader {
  /** Bytes of everything but the series, copied out of their chunks. */
  private readonly rest: Buffer[] = [];
  /** One entry per open object (true) or array (false). */
  private readonly open: boolean[] = [];
  /** The last key read in the root object and in the object at depth 2. */
  private readonly keys: (string | undefined)[] = [undefined, undefined];
  private inString = false;
  private escaped = false;
  /** Whether the next string in the current object is a key. */
  private expectKey = false;
  /** The bytes of a key of the root object or of `data`, where it spans chunks. */
  private keyParts: Buffer[] | undefined;
  private inResult = false;
  /** The bytes of series that a chunk ended in the middle of. */
  private pending: Buffer[] = [];
  /** Separators between the series read so far. */
  private separators = 0;
  private failure: Error | undefined;

  /** `onSeries` gets each element of `data.result` in order, as JSON.parse makes it. */
  constructor(private readonly onSeries: (series: unknown) => void) {}

  push(chunk: Uint8Array): void {
    if (this.failure) return;
    const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const n = buf.length;
    /** Where this chunk's bytes for `rest`, or its current series, start. */
    let from = 0;
    let i = 0;
    while (i < n) {
      if (this.inString) {
        const end = this.skipString(buf, i);
        if (this.keyParts) {
          this.keyParts.push(Buffer.from(buf.subarray(i, this.inString ? end : end - 1)));
          if (!this.inString) this.endKey();
        }
        i = end;
        continue;
      }
      const b = buf[i];
      if (b === QUOTE) {
        this.inString = true;
        // A key of the root object or of `data`: read (without its quotes) to find `data.result`.
        if (this.expectKey && this.open.length <= 2) this.keyParts = [];
        i++;
        continue;
      }
      if (b === OPEN_OBJECT || b === OPEN_ARRAY) {
        const isResult = b === OPEN_ARRAY && !this.inResult && this.open.length === 2 && this.open[0] && this.open[1] && this.keys[0] === 'data' && this.keys[1] === 'result';
        this.open.push(b === OPEN_OBJECT);
        if (this.open.length <= 2) this.keys[this.open.length - 1] = undefined;
        this.expectKey = b === OPEN_OBJECT;
        if (isResult) {
          // `[` stays in the rest, which gets an empty array; the series start after it.
          this.rest.push(Buffer.from(buf.subarray(from, i + 1)));
          this.inResult = true;
          this.separators = 0;
          from = i + 1;
        }
      } else if (b === CLOSE_OBJECT || b === CLOSE_ARRAY) {
        if (this.open.length === 0 || this.open.pop() !== (b === CLOSE_OBJECT)) {
          this.fail('brackets do not match');
          return;
        }
        this.expectKey = false;
        if (this.inResult && this.open.length === SERIES_DEPTH - 1) {
          // The last series, unless the array is empty (`[]`, or blanks only).
          this.parseSeries(buf, from, i, this.separators === 0);
          if (this.failure) return;
          this.inResult = false;
          from = i;
        }
      } else if (b === COMMA) {
        this.expectKey = this.open.length > 0 && this.open[this.open.length - 1];
        if (this.inResult && this.open.length === SERIES_DEPTH) {
          this.separators++;
          this.parseSeries(buf, from, i, false);
          if (this.failure) return;
          from = i + 1;
        }
      } else if (b === COLON) {
        this.expectKey = false;
      }
      i++;
    }
    // The rest, or the start of a series that the next chunk ends.
    if (from < n) (this.inResult ? this.pending : this.rest).push(Buffer.from(buf.subarray(from, n)));
  }

  /** The answer without the series handed over (`data.result` is then `[]`). Throws what JSON.parse throws. */
  finish(): unknown {
    if (this.failure) throw this.failure;
    if (this.inString || this.open.length > 0) throw new SyntaxError('Unexpected end of JSON input');
    let text = Buffer.concat(this.rest).toString('utf8');
    // As fetch()'s json() read it: a byte order mark is not part of the JSON.
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    return JSON.parse(text);
  }

  /** From `i` inside a string: where scanning goes on (after its closing quote, or the chunk's end). */
  private skipString(buf: Buffer, i: number): number {
    const n = buf.length;
    if (this.escaped) {
      if (i >= n) return n;
      this.escaped = false;
      i++;
    }
    for (;;) {
      const q = buf.indexOf(QUOTE, i);
      const end = q === -1 ? n : q;
      let k = end;
      while (k > i && buf[k - 1] === BACKSLASH) k--;
      const escapedQuote = (end - k) % 2 === 1;
      if (q === -1) {
        this.escaped = escapedQuote;
        return n;
      }
      i = q + 1;
      if (!escapedQuote) {
        this.inString = false;
        return i;
      }
    }
  }

  private endKey(): void {
    const parts = this.keyParts ?? [];
    this.keyParts = undefined;
    this.keys[this.open.length - 1] = Buffer.concat(parts).toString('utf8');
  }

  /**
   * Parses the series in `buf[from, to)` after the pending bytes, on its own, and hands it over.
   * Blanks are no series: a JSON.parse error, except as the whole of an empty array (`mayBeNone`).
   */
  private parseSeries(buf: Buffer, from: number, to: number, mayBeNone: boolean): void {
    const text = this.pending.length === 0 ? buf.toString('utf8', from, to) : Buffer.concat([...this.pending, buf.subarray(from, to)]).toString('utf8');
    this.pending = [];
    if (mayBeNone && text.trim() === '') return;
    let series: unknown;
    try {
      series = JSON.parse(text);
    } catch (err) {
      this.fail((err as Error).message);
      return;
    }
    this.onSeries(series);
  }

  private fail(why: string): void {
    this.failure ??= new SyntaxError(`not JSON: ${why}`);
    this.pending = [];
  }
}
