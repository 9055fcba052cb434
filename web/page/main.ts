// The live page's script: polls the exporter's snapshot and history, and keeps the header, the
// banners, the figures, the node's power charts and the workloads panel current. The shell
// (src/server/landingPage.ts) holds the containers; this fills them.
//
// What the end-to-end test reads, on purpose: <body data-live> ("loading", then "ready" once a
// snapshot and a history are drawn) and data-ready-ms (when), data-level on #workloads,
// data-points on each chart's <figure data-chart>, data-kind, data-level and data-id on the
// table's rows.

import type { ApiHistory, ApiLevelName, ApiSnapshot } from '../../src/exporter/web/apiTypes.js';
import { Poller } from './api.js';
import { Banners } from './banners.js';
import { banners, defaultLevel, figures, levelFromHash, pollIntervalMs, type Connection } from './derive.js';
import { byId } from './dom.js';
import { Figures } from './figures.js';
import { Header } from './header.js';
import { mergeHistory, sinceOf, type HistoryState } from './history.js';
import { PowerCharts } from './powerCharts.js';
import { WorkloadsPanel } from './workloads.js';

/** The table's length: the snapshot's top N per level. */
const TOP = 10;
/** A request not answered within this is aborted and counts as a failure. */
const TIMEOUT_MS = 5000;
/** The same for the whole history ring (no ?since=): MiBs on a node whose workloads churn. */
const FULL_HISTORY_TIMEOUT_MS = 30_000;

interface PageState {
  /** The latest snapshot: health, meter, how often to ask. */
  snapshot?: ApiSnapshot;
  /**
   * The latest snapshot with an interval, whose watts the figures and the table show: one without
   * (the exporter's first refresh, or one whose reading failed) has none, so the previous stays.
   */
  power?: ApiSnapshot;
  history?: HistoryState;
  /** The tab shown; undefined until the URL or the first snapshot decides. */
  level?: ApiLevelName;
  /** When this browser received the latest new refresh with watts (a new seq). */
  changedMs?: number;
  snapshotConn: Connection;
  historyConn: Connection;
}

function start(): void {
  const state: PageState = { level: levelFromHash(location.hash), snapshotConn: {}, historyConn: {} };
  const status = byId('live-status');
  const header = new Header();
  const bannerView = new Banners(byId('banners'));
  const figureView = new Figures(byId('figures'));
  const power = new PowerCharts(byId('power'));
  const workloads = new WorkloadsPanel(byId('workloads'), (level) => {
    // replaceState: switching tabs should not fill the back button's history.
    history.replaceState(null, '', `#${level}`);
    select(level);
  });

  const ready = () => {
    if (!state.snapshot || !state.history || document.body.dataset.live === 'ready') return;
    document.body.dataset.live = 'ready';
    // When the first figures and charts were drawn, ms since navigation: the test prints it.
    document.body.dataset.readyMs = String(Math.round(performance.now()));
  };
  // Until a snapshot with an interval comes, the first one (whose figures say they wait for it).
  const shown = () => state.power ?? state.snapshot;
  const drawWorkloads = () => {
    const s = shown();
    if (s && state.level) workloads.render(s, state.level);
    if (state.history && state.level) workloads.renderChart(state.history, state.power, state.level);
  };
  const select = (level: ApiLevelName) => {
    state.level = level;
    drawWorkloads();
  };
  const tick = () => {
    const now = Date.now();
    const answering = state.snapshotConn.failingSinceMs === undefined;
    header.tick(state.changedMs, now, answering);
    bannerView.render(banners(state.snapshot, state.snapshotConn, now));
    // A failing history alone gets its own line; when nothing answers, the banner says it all.
    const historyError = state.historyConn.error;
    power.setStatus(answering && historyError !== undefined ? `The history is not updating: ${historyError}.` : undefined);
  };
  const failed = (conn: Connection, message: string) => {
    conn.failingSinceMs ??= Date.now();
    conn.error = message;
  };

  const snapshots = new Poller<ApiSnapshot>({
    url: () => `api/v1/snapshot?top=${TOP}`,
    timeoutMs: TIMEOUT_MS,
    intervalMs: () => pollIntervalMs(state.snapshot?.refreshIntervalSec),
    onData: (s) => {
      if (s.intervalSec > 0) {
        const previous = state.power;
        if (!previous || previous.seq !== s.seq || previous.timestampMs !== s.timestampMs) state.changedMs = Date.now();
        state.power = s;
      }
      state.snapshot = s;
      state.snapshotConn = {};
      state.level ??= defaultLevel(s);
      status.hidden = true;
      document.body.dataset.shown = 'true';
      header.render(s);
      figureView.render(figures(shown() ?? s));
      drawWorkloads();
      tick();
      ready();
    },
    onError: (message) => {
      failed(state.snapshotConn, message);
      if (!state.snapshot) status.textContent = `Waiting for the exporter: ${message}.`;
      tick();
    },
  });

  const histories = new Poller<ApiHistory>({
    url: () => {
      const since = sinceOf(state.history);
      return since === undefined ? 'api/v1/history' : `api/v1/history?since=${since}`;
    },
    timeoutMs: (url) => (url.includes('since=') ? TIMEOUT_MS : FULL_HISTORY_TIMEOUT_MS),
    intervalMs: () => pollIntervalMs(state.snapshot?.refreshIntervalSec),
    onData: (answer) => {
      state.history = mergeHistory(state.history, answer);
      state.historyConn = {};
      power.update(state.history);
      tick();
      if (state.level) workloads.renderChart(state.history, state.power, state.level);
      ready();
    },
    onError: (message) => {
      failed(state.historyConn, message);
      tick();
    },
  });

  window.addEventListener('hashchange', () => {
    const level = levelFromHash(location.hash);
    if (level && level !== state.level) select(level);
  });
  snapshots.start();
  histories.start();
  // One timer for the clock ("updated 3 s ago", "not answering since"), whatever the requests do.
  setInterval(tick, 1000);
}

start();
