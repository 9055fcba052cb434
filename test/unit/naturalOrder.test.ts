// The natural order of sysfs names (src/util/naturalOrder.ts) that replaced localeCompare with
// { numeric: true } in the meters' discovery: the same order on the names sysfs has.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareNatural } from '../../src/util/naturalOrder.js';

/** Names as powercap, hwmon and a chip's directory list them. */
const SYSFS_NAMES = [
  ...[
    'intel-rapl:0',
    'intel-rapl:0:0',
    'intel-rapl:0:1',
    'intel-rapl:0:2',
    'intel-rapl:0:10',
    'intel-rapl:1',
    'intel-rapl:1:0',
    'intel-rapl:2',
    'intel-rapl:10',
    'intel-rapl:10:3',
  ],
  ...['intel-rapl-mmio:0', 'intel-rapl-mmio:0:0', 'intel-rapl-mmio:1'],
  ...['hwmon0', 'hwmon1', 'hwmon2', 'hwmon9', 'hwmon10', 'hwmon11', 'hwmon100'],
  ...['power1_average', 'power1_average_interval', 'power1_input', 'power1_label', 'power2_input', 'power10_input', 'energy1_input', 'energy12_input'],
  ...['in0_input', 'in1_input', 'in10_input', 'curr1_input', 'curr2_label', 'temp1_input', 'temp10_input', 'name', 'device', 'subsystem', 'uevent'],
];

/** A fixed shuffle (no randomness in the test's outcome). */
function shuffled<T>(items: T[]): T[] {
  const out = [...items];
  let seed = 12345;
  for (let i = out.length - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const j = seed % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

test("sysfs names sort as localeCompare('en', { numeric: true }) sorted them", () => {
  const mixed = shuffled(SYSFS_NAMES);
  assert.deepEqual(
    [...mixed].sort(compareNatural),
    [...mixed].sort((a, b) => a.localeCompare(b, 'en', { numeric: true })),
  );
});

test('numbers by value, whatever their length; the rest by character', () => {
  const cases: [string, string, '<' | '=' | '>'][] = [
    ['intel-rapl:0:2', 'intel-rapl:1:0', '<'],
    ['hwmon2', 'hwmon10', '<'],
    ['a99999999999999999999', 'a100000000000000000000', '<'],
    ['a007', 'a7', '>'],
    ['a007', 'a8', '<'],
    ['abc', 'abc', '='],
    ['abc', 'abcd', '<'],
    ['ab1', 'ab', '>'],
    ['a1b', 'a1c', '<'],
    ['', 'a', '<'],
  ];
  for (const [a, b, want] of cases) {
    const got = Math.sign(compareNatural(a, b));
    assert.equal(got, want === '<' ? -1 : want === '>' ? 1 : 0, `${a} ${want} ${b}`);
    assert.equal(Math.sign(compareNatural(b, a)), got === 0 ? 0 : -got, `${b} against ${a}`);
  }
});
