// /proc/<pid>/stat. The comm field is in parentheses and may itself contain spaces and
// parentheses (a process may name itself "(a) b) (c"), so the fixed fields are parsed from the
// LAST ')' of the line.

export interface PidStat {
  comm: string;
  state: string;
  ppid: number;
  /** Kernel task flags; PF_KTHREAD marks kernel threads. */
  flags: number;
  /** utime + stime, clock ticks. */
  cpuTicks: number;
  /** Start time after boot, clock ticks. */
  startTicks: number;
}

export const PF_KTHREAD = 0x00200000;

/**
 * Returns undefined for input that is not a /proc/<pid>/stat line (truncated, garbage). `text` is
 * the file's bytes read as latin1 (fast, and byte-preserving); the comm is decoded as UTF-8, as
 * the kernel stores what the process wrote (so `café☃` is exported as `café☃`).
 */
export function parsePidStat(text: string): PidStat | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open || text.charCodeAt(close + 1) !== 32) return undefined;
  // After ") ": state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime
  // cutime cstime priority nice num_threads itrealvalue starttime ... (fields 3..22 of proc(5)).
  // One pass over the characters: this runs for every process at every refresh, and split() plus
  // a regex per field cost twice as much. Numeric fields must be non-empty runs of digits (a line
  // cut after a space must not read as start time 0).
  const want = [-1, -1, -1, -1, -1, -1]; // ppid flags utime stime starttime, by field index below
  let field = 0;
  let i = close + 2;
  const stateStart = i;
  while (i < text.length && text.charCodeAt(i) !== 32) i++;
  const state = text.slice(stateStart, i);
  if (state === '') return undefined;
  while (field < 19) {
    if (text.charCodeAt(i) !== 32) return undefined;
    i++;
    field++;
    const slot = FIELD_SLOT[field];
    if (slot < 0) {
      // A field we do not use (some, like tty_nr or nice, may be negative): skip it.
      const from = i;
      while (i < text.length && text.charCodeAt(i) > 32) i++;
      if (i === from) return undefined;
      continue;
    }
    let v = 0;
    const from = i;
    for (let c = text.charCodeAt(i); c >= 48 && c <= 57; c = text.charCodeAt(++i)) v = v * 10 + (c - 48);
    // Empty, or too long for a double to hold exactly (a 400-digit field is Infinity).
    if (i === from || v > Number.MAX_SAFE_INTEGER) return undefined;
    want[slot] = v;
  }
  // starttime must be followed by a separator: a cut inside it would give a smaller number.
  const after = text.charCodeAt(i);
  if (!(after === 32 || after === 10)) return undefined;
  return {
    comm: utf8Comm(text.slice(open + 1, close)),
    state,
    ppid: want[0],
    flags: want[1],
    cpuTicks: want[2] + want[3],
    startTicks: want[4],
  };
}

/** Field index after the state (state = 0) -> slot in the parsed values, or -1 when unused. */
const FIELD_SLOT: number[] = (() => {
  const slots = new Array<number>(20).fill(-1);
  slots[1] = 0; // ppid
  slots[6] = 1; // flags
  slots[11] = 2; // utime
  slots[12] = 3; // stime
  slots[19] = 4; // starttime
  return slots;
})();

/** A comm read as latin1 bytes, decoded as UTF-8; plain ASCII (nearly every process) is returned as is. */
function utf8Comm(bytes: string): string {
  let high = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes.charCodeAt(i);
    if (c > 0xff) return bytes; // already decoded text, not bytes
    if (c > 0x7f) high = true;
  }
  return high ? Buffer.from(bytes, 'latin1').toString('utf8') : bytes;
}
