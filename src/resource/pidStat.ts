// /proc/<pid>/stat. The comm field is in parentheses and may itself contain spaces and
// parentheses (a process may name itself "(a) b) (c"), so the fixed fields are parsed from the
// LAST ')' of the line.
//
// The refresh reads this file for every process, every interval, and almost every process is
// one it already knows: so the fields are scanned from the file's bytes where they were read,
// into one reused object, and the comm is made a string only for a process seen for the first
// time or one whose comm changed (it exec'd). A string per process per refresh would be most of
// what a refresh at thousands of processes leaves to the garbage collector.

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

/** What scanPidStat finds: the numbers, and where the comm and the state are in the bytes. */
export interface PidStatScan {
  ppid: number;
  flags: number;
  cpuTicks: number;
  startTicks: number;
  commStart: number;
  commEnd: number;
  stateStart: number;
  stateEnd: number;
}

export function newPidStatScan(): PidStatScan {
  return { ppid: 0, flags: 0, cpuTicks: 0, startTicks: 0, commStart: 0, commEnd: 0, stateStart: 0, stateEnd: 0 };
}

/**
 * Scans bytes [0, n) of a /proc/<pid>/stat into `into`; false for input that is not such a line
 * (truncated, garbage), leaving `into` undefined in part.
 */
export function scanPidStat(b: Uint8Array, n: number, into: PidStatScan): boolean {
  const open = b.indexOf(40); // '('
  let close = -1;
  for (let i = n - 1; i > open; i--) {
    if (b[i] === 41) {
      close = i; // the last ')'
      break;
    }
  }
  if (open < 0 || open >= n || close < 0 || close + 1 >= n || b[close + 1] !== 32) return false;
  // After ") ": state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime
  // cutime cstime priority nice num_threads itrealvalue starttime ... (fields 3..22 of proc(5)).
  // Numeric fields must be non-empty runs of digits (a line cut after a space must not read as
  // start time 0).
  let i = close + 2;
  const stateStart = i;
  while (i < n && b[i] !== 32) i++;
  if (i === stateStart) return false;
  into.stateStart = stateStart;
  into.stateEnd = i;
  let utime = 0;
  for (let field = 1; field <= 19; field++) {
    if (i >= n || b[i] !== 32) return false;
    i++;
    const from = i;
    if (!USED[field]) {
      // A field we do not use (some, like tty_nr or nice, may be negative): skip it.
      while (i < n && b[i] > 32) i++;
      if (i === from) return false;
      continue;
    }
    let v = 0;
    for (; i < n && b[i] >= 48 && b[i] <= 57; i++) v = v * 10 + (b[i] - 48);
    // Empty, or too long for a double to hold exactly (a 400-digit field is Infinity).
    if (i === from || v > Number.MAX_SAFE_INTEGER) return false;
    if (field === 1) into.ppid = v;
    else if (field === 6) into.flags = v;
    else if (field === 11) utime = v;
    else if (field === 12) into.cpuTicks = utime + v;
    else into.startTicks = v; // 19
  }
  // starttime must be followed by a separator: a cut inside it would give a smaller number.
  if (i >= n || !(b[i] === 32 || b[i] === 10)) return false;
  into.commStart = open + 1;
  into.commEnd = close;
  return true;
}

/** Fields after the state (state = 0) that are read: ppid, flags, utime, stime, starttime. */
const USED: boolean[] = (() => {
  const used = new Array<boolean>(20).fill(false);
  for (const f of [1, 6, 11, 12, 19]) used[f] = true;
  return used;
})();

/** The comm of a scanned line, decoded as UTF-8, as the kernel stores what the process wrote (so `café☃` is exported as `café☃`). */
export function commOf(b: Uint8Array, s: PidStatScan): string {
  return Buffer.from(b.buffer, b.byteOffset + s.commStart, s.commEnd - s.commStart).toString('utf8');
}

/** Whether a scanned line's comm is `comm`, without making a string of it (plain ASCII, nearly every comm, compared in place). */
export function commIs(b: Uint8Array, s: PidStatScan, comm: string): boolean {
  const len = s.commEnd - s.commStart;
  if (comm.length === len) {
    let ascii = true;
    for (let k = 0; k < len; k++) {
      const c = comm.charCodeAt(k);
      if (c > 0x7f) {
        ascii = false;
        break;
      }
      if (b[s.commStart + k] !== c) return false;
    }
    if (ascii) return true;
  }
  return commOf(b, s) === comm;
}

/**
 * Returns undefined for input that is not a /proc/<pid>/stat line (truncated, garbage). `text` is
 * the file's bytes read as latin1 (byte-preserving), or already decoded text.
 */
export function parsePidStat(text: string): PidStat | undefined {
  let decoded = false;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0xff) {
      decoded = true;
      break;
    }
  }
  const b = Buffer.from(text, decoded ? 'utf8' : 'latin1');
  const s = newPidStatScan();
  if (!scanPidStat(b, b.length, s)) return undefined;
  return {
    comm: commOf(b, s),
    state: b.toString('latin1', s.stateStart, s.stateEnd),
    ppid: s.ppid,
    flags: s.flags,
    cpuTicks: s.cpuTicks,
    startTicks: s.startTicks,
  };
}
