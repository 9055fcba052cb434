// The page's header: the node, the meter (and whether it estimates), the version, a health badge
// and how long ago the figures last changed. The shell renders node, meter and version
// server-side; the snapshot keeps them current.

import type { ApiSnapshot } from '../../src/exporter/web/apiTypes.js';
import { healthBadge } from './derive.js';
import { byId, setText } from './dom.js';
import { formatAge } from './format.js';

export class Header {
  private readonly node = byId('node-name');
  private readonly meter = byId('meter-name');
  private readonly version = byId('version');
  private readonly health = byId('health');
  private readonly updated = byId('updated');

  private badge: { text: string; tone: string } | undefined;

  render(s: ApiSnapshot): void {
    setText(this.node, s.nodeName);
    const state = s.meter.state && s.meter.state !== 'ok' ? ` (${s.meter.state})` : '';
    setText(this.meter, `${s.meter.name}${state}${s.meter.estimated ? ' · estimated' : ''}`);
    setText(this.version, s.version);
    this.badge = healthBadge(s);
  }

  /**
   * "updated 3 s ago": since the page last received a new refresh (`changedMs`, this browser's
   * clock). While the exporter does not answer, the badge says so rather than its last health.
   */
  tick(changedMs: number | undefined, nowMs: number, answering: boolean): void {
    setText(this.updated, changedMs === undefined ? '' : `updated ${formatAge((nowMs - changedMs) / 1000)}`);
    const badge = answering ? this.badge : { text: 'no answer', tone: 'bad' };
    if (!badge) return;
    setText(this.health, badge.text);
    this.health.dataset.tone = badge.tone;
    this.health.hidden = false;
  }
}
