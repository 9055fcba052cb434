// The banners under the header: the exporter not answering, its health, estimated power. They
// replace the estimate notice the shell rendered server-side (the same words, plus the model).

import type { Banner } from './derive.js';
import { h } from './dom.js';

export class Banners {
  private shown = '';

  constructor(private readonly root: HTMLElement) {}

  render(list: Banner[]): void {
    const key = JSON.stringify(list);
    if (key === this.shown) return; // unchanged: no relayout every poll
    this.shown = key;
    this.root.replaceChildren(...list.map((b) => h('p', { class: `banner ${b.kind}`, data: { banner: b.kind } }, h('b', { text: b.title }), b.text ? ` ${b.text}` : '')));
  }
}
