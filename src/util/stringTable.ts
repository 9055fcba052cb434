// One copy of each string that many long-lived records repeat: a node's thousands of processes
// share a few dozen executables, comms and container ids, and each kept its own copy. Worse, a
// substring in V8 is a view (a "sliced string") that keeps the whole string it was cut from: a
// container id matched in /proc/<pid>/cgroup kept that file's whole text (about 400 bytes on a
// hybrid host) for the life of every container process. The table's copies are made afresh, so
// they hold nothing else.

/** Entries at which the table starts over: it only saves memory, so forgetting is always safe. */
export const STRING_TABLE_MAX_ENTRIES = 4096;

export class StringTable {
  private readonly entries = new Map<string, string>();

  constructor(private readonly maxEntries = STRING_TABLE_MAX_ENTRIES) {}

  /**
   * A string equal to `s`: the copy taken the first time one equal to it was given (until the
   * table starts over). A new string (an executable seen once) never makes it grow past its bound.
   */
  of(s: string): string {
    const kept = this.entries.get(s);
    if (kept !== undefined) return kept;
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    const own = detachedCopy(s);
    this.entries.set(own, own);
    return own;
  }

  get size(): number {
    return this.entries.size;
  }
}

/**
 * A copy of `s` that shares no storage with the string it was cut from. JSON's round trip is exact
 * for every string (lone surrogates are escaped, not replaced), and its parser makes new strings.
 */
export function detachedCopy(s: string): string {
  return JSON.parse(JSON.stringify(s)) as string;
}
