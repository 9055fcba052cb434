// The logger as an operator reads it: values it must not choke on (a bigint of µJ), and errors
// with their causes, stacks at debug level only.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger, type LogFields } from '../../src/logger/logger.js';

const at = () => new Date('2026-01-02T03:04:05.000Z');

function lines(level: 'debug' | 'info', format: 'json' | 'text', fields: LogFields): string[] {
  const out: string[] = [];
  createLogger({ level, format, write: (l) => out.push(l), now: at }).error('refresh failed', fields);
  return out;
}

describe('logger', () => {
  it('writes a bigint field (µJ totals) as its digits in both formats instead of throwing', () => {
    const uj = 12_345_678_901_234_567_890n;
    assert.deepEqual((JSON.parse(lines('info', 'json', { total: uj })[0]) as Record<string, unknown>).total, '12345678901234567890');
    assert.match(lines('info', 'text', { totals: { package: uj } })[0], /totals="\{\\"package\\":\\"12345678901234567890\\"\}"/);
  });

  it('gives an error its causes, and at debug level its stack on a DEBUG line of its own', () => {
    const root = Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
    const err = new Error('cannot start', { cause: root });
    const info = lines('info', 'json', { err });
    assert.equal(info.length, 1);
    assert.equal((JSON.parse(info[0]) as Record<string, unknown>).err, 'cannot start: EACCES: permission denied');
    const debug = lines('debug', 'json', { err, port: 1 }).map((l) => JSON.parse(l) as Record<string, string>);
    assert.equal(debug.length, 2);
    assert.equal(debug[0].err, 'cannot start: EACCES: permission denied', 'the line itself stays one line');
    assert.deepEqual([debug[1].level, debug[1].msg], ['DEBUG', 'stack of err']);
    assert.match(debug[1].stack, /^Error: cannot start\n\s+at /);
    assert.match(debug[1].stack, /\ncaused by: Error: EACCES: permission denied\n\s+at /);
    // A message that already quotes its cause does not repeat it.
    const quoted = new Error('zone read: EACCES: permission denied', { cause: root });
    assert.equal((JSON.parse(lines('info', 'json', { err: quoted })[0]) as Record<string, unknown>).err, 'zone read: EACCES: permission denied');
    assert.match(lines('info', 'text', { err })[0], /err="cannot start: EACCES: permission denied"/);
  });
});
