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

/** Returns undefined for input that is not a /proc/<pid>/stat line (truncated, garbage). */
export function parsePidStat(text: string): PidStat | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  // After ") ": state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime
  // cutime cstime priority nice num_threads itrealvalue starttime ... (fields 3..22 of proc(5)).
  // Fields must be plain digits: Number('') is 0, so a line cut after a space (or with an empty
  // field) would otherwise read as start time 0 / utime 0.
  const rest = text.trimEnd().slice(close + 2).split(' ', 20);
  if (rest.length < 20) return undefined;
  const num = (s: string) => (/^\d+$/.test(s) ? Number(s) : NaN);
  const ppid = num(rest[1]);
  const flags = num(rest[6]);
  const utime = num(rest[11]);
  const stime = num(rest[12]);
  const startTicks = num(rest[19]);
  if (!(utime >= 0 && stime >= 0 && startTicks >= 0 && ppid >= 0 && flags >= 0)) return undefined;
  return {
    comm: text.slice(open + 1, close),
    state: rest[0],
    ppid,
    flags,
    cpuTicks: utime + stime,
    startTicks,
  };
}
