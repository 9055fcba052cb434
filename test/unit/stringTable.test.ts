// The string table that the resource informer keeps each process's comm, executable and container
// id in (src/util/stringTable.ts): equal strings share one copy, the table stays bounded, and a
// copy does not keep the text it was cut from (measured on V8's heap, in a fresh Node.js).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { detachedCopy, StringTable } from '../../src/util/stringTable.js';

const MODULE = fileURLToPath(new URL('../../src/util/stringTable.js', import.meta.url));

test('equal strings come back equal, whatever they hold', () => {
  const table = new StringTable();
  for (const s of ['sleep', '/usr/bin/sleep', 'a'.repeat(64), 'café', 'lone \ud800 surrogate', '']) {
    assert.equal(table.of(s), s);
    assert.equal(detachedCopy(s), s);
  }
  assert.equal(table.of('/usr/bin/' + 'sleep'), '/usr/bin/sleep');
  assert.equal(table.size, 6, 'one entry per distinct string');
});

test('the table starts over at its bound instead of growing with strings seen once', () => {
  const table = new StringTable(100);
  for (let i = 0; i < 1000; i++) assert.equal(table.of(`/tmp/build-${i}/exe`), `/tmp/build-${i}/exe`);
  assert.ok(table.size <= 100, `${table.size} entries`);
});

test("a kept id does not keep the text it was matched in (V8's heap, 200 texts of 50 KB)", () => {
  // A container id matched in a /proc/<pid>/cgroup text is a view of that text: kept as it is,
  // the whole text stays; the table's copy keeps 64 characters. The first half shows the test can fail.
  const script = `
    import { StringTable } from ${JSON.stringify(MODULE)};
    // Each text made and cut in a function of its own: a text left in a caller's register would stay alive anyway.
    const idOf = (i) => ('0::/kubepods/pod' + i + '/' + 'x'.repeat(50_000) + i.toString(16).padStart(64, 'a')).slice(-64);
    const retained = (keep) => {
      gc();
      const before = process.memoryUsage().heapUsed;
      const kept = [];
      for (let i = 0; i < 200; i++) kept.push(keep(idOf(i)));
      gc();
      const after = process.memoryUsage().heapUsed;
      if (kept.length !== 200 || kept[7] !== (7).toString(16).padStart(64, 'a')) throw new Error('the ids changed');
      return after - before;
    };
    const table = new StringTable();
    console.log(JSON.stringify({ views: retained((s) => s), copies: retained((s) => table.of(s)) }));`;
  const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const { views, copies } = JSON.parse(r.stdout) as { views: number; copies: number };
  assert.ok(views > 5e6, `the views kept ${views} bytes: expected the texts (10 MB) to stay, else this test proves nothing`);
  assert.ok(copies < 1e6, `the table's copies kept ${copies} bytes of heap: expected about 200 x 64 characters, not the texts`);
});
