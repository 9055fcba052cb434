// The fault-and-abuse campaign. After `npm run build`, as root:
//
//   node dist/test/campaign/run.js [--quick] [--only=H1,F4,...] [--soak-minutes=N]
//
// Each scenario starts the built exporter (dist/src/cli/main.js) as a child on fixture trees in
// temporary folders and real cgroups, attacks it, and reports one row of a Markdown table:
// scenario | what was done | expected | observed | PASS/FAIL. Exit code 0 only when every
// scenario passes. Every scenario has a time limit (a hang is a FAIL). Everything started is
// cleaned up on success, failure, time-out, Ctrl-C and SIGTERM.
//
// --quick: soak of 1 minute (instead of 10) and shorter floods. --soak-minutes overrides both.
// KTS_CAMPAIGN_TARGET=<checkout root>: attack that checkout's build instead of this one.
// KTS_CAMPAIGN_LIMIT_SCALE=<factor>: multiply every scenario's time limit (a slow machine).

import { existsSync } from 'node:fs';
import { FAULTS } from './faults.js';
import { HELD } from './held.js';
import { AETHER, closeAllScopes, MAIN, Scope } from './lib.js';
import type { Observation, Scenario } from './scenario.js';

const ALL: Scenario[] = [...HELD, ...FAULTS];

interface Row {
  scenario: Scenario;
  observed: string;
  pass: boolean;
  seconds: number;
}

function usage(msg?: string): never {
  if (msg) process.stderr.write(`campaign: ${msg}\n`);
  process.stderr.write(`usage: node dist/test/campaign/run.js [--quick] [--only=${ALL.map((s) => s.name).join(',')}] [--soak-minutes=N]\n`);
  process.exit(2);
}

function parseArgs(argv: string[]): { quick: boolean; only: Set<string> | undefined; soakMinutes: number | undefined } {
  let quick = false;
  let only: Set<string> | undefined;
  let soakMinutes: number | undefined;
  for (const a of argv) {
    if (a === '--quick') quick = true;
    else if (a.startsWith('--only='))
      only = new Set(
        a
          .slice(7)
          .split(',')
          .map((s) => s.trim().toUpperCase())
          .filter(Boolean),
      );
    else if (a.startsWith('--soak-minutes=')) {
      soakMinutes = Number(a.slice(15));
      if (!(soakMinutes > 0)) usage(`--soak-minutes: expected a number of minutes > 0, got ${JSON.stringify(a.slice(15))}`);
    } else if (a === '--help' || a === '-h') usage();
    else usage(`unknown argument ${JSON.stringify(a)}`);
  }
  if (only) {
    const unknown = [...only].filter((n) => !ALL.some((s) => s.name === n));
    if (unknown.length) usage(`--only: unknown scenario ${unknown.join(', ')}`);
  }
  return { quick, only, soakMinutes };
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');

function table(rows: Row[]): string {
  const out = ['| scenario | what was done | expected | observed | result |', '|---|---|---|---|---|'];
  for (const r of rows) {
    out.push(`| ${r.scenario.name} | ${cell(r.scenario.did)} | ${cell(r.scenario.expected)} | ${cell(r.observed)} | ${r.pass ? 'PASS' : '**FAIL**'} |`);
  }
  return out.join('\n');
}

const rows: Row[] = [];
let interrupted = false;
/** The scenario running now, with its start time (for an interrupted run's last row). */
let current: { scenario: Scenario; started: number; partial: () => string } | undefined;

function printReport(startedAt: number): void {
  const passed = rows.filter((r) => r.pass).length;
  process.stdout.write(`\n${table(rows)}\n\n`);
  process.stdout.write(`${passed}/${rows.length} scenarios passed in ${((performance.now() - startedAt) / 1000).toFixed(0)} s${interrupted ? ' (interrupted)' : ''}\n`);
}

async function runScenario(s: Scenario, quick: boolean, soakMinutes: number): Promise<Row> {
  const scope = new Scope(s.name);
  const scale = Number(process.env.KTS_CAMPAIGN_LIMIT_SCALE ?? '1');
  const limit = Math.max(1, Math.round(s.limitSec({ quick, soakMinutes }) * (scale > 0 ? scale : 1)));
  let partial = '';
  const started = performance.now();
  current = { scenario: s, started, partial: () => partial };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Observation>((resolve) => {
    timer = setTimeout(() => resolve({ observed: `✗ TIMED OUT after ${limit} s${partial ? `; so far: ${partial}` : ''}`, pass: false }), limit * 1000);
  });
  let obs: Observation;
  try {
    obs = await Promise.race([s.run({ quick, soakMinutes, scope, note: (t) => (partial = t) }), timeout]);
  } catch (err) {
    obs = { observed: `✗ campaign error: ${(err as Error).message}${partial ? `; so far: ${partial}` : ''}`, pass: false };
  } finally {
    clearTimeout(timer);
  }
  const problems = scope.close();
  if (problems.length) obs = { ...obs, observed: `${obs.observed}; cleanup: ${problems.join('; ')}` };
  return { scenario: s, observed: obs.observed, pass: obs.pass, seconds: (performance.now() - started) / 1000 };
}

async function main(): Promise<number> {
  const { quick, only, soakMinutes: soakArg } = parseArgs(process.argv.slice(2));
  const soakMinutes = soakArg ?? (quick ? 1 : 10);
  if (process.getuid?.() !== 0) usage('run as root: the scenarios create cgroups');
  for (const f of [MAIN, AETHER]) if (!existsSync(f)) usage(`${f} is missing: run npm run build first`);
  const selected = ALL.filter((s) => !only || only.has(s.name));
  const startedAt = performance.now();

  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`\ncampaign: ${sig}: cleaning up\n`);
    closeAllScopes();
    const running = current;
    if (running && !rows.some((r) => r.scenario === running.scenario)) {
      const p = running.partial();
      rows.push({
        scenario: running.scenario,
        observed: `✗ interrupted by ${sig}${p ? `; so far: ${p}` : ''}`,
        pass: false,
        seconds: (performance.now() - running.started) / 1000,
      });
    }
    printReport(startedAt);
    process.exit(130);
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGHUP', () => onSignal('SIGHUP'));
  process.on('exit', () => closeAllScopes());
  // A stray error from a scenario still running after its time limit must not end the campaign.
  process.on('uncaughtException', (err) => process.stderr.write(`campaign: uncaught: ${err.stack ?? err.message}\n`));
  process.on('unhandledRejection', (err) => process.stderr.write(`campaign: unhandled rejection: ${String(err)}\n`));

  process.stderr.write(`campaign: ${selected.length} scenarios${quick ? ' (quick)' : ''}, soak ${soakMinutes} min, exporter ${MAIN}\n`);
  for (const s of selected) {
    process.stderr.write(`campaign: ${s.name} ... `);
    const row = await runScenario(s, quick, soakMinutes);
    rows.push(row);
    process.stderr.write(`${row.pass ? 'PASS' : 'FAIL'} (${row.seconds.toFixed(1)} s)\n`);
  }
  printReport(startedAt);
  return rows.every((r) => r.pass) ? 0 : 1;
}

main().then(
  (code) => {
    closeAllScopes();
    process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`campaign: ${err instanceof Error ? err.stack : String(err)}\n`);
    closeAllScopes();
    process.exit(1);
  },
);
