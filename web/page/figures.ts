// The row of figures under the banners: the node's watts, each zone's with its active and idle
// parts, the GPUs and the platform power. Cards are made once per set of keys and their text
// updated in place.

import type { Figure } from './derive.js';
import { h, setText } from './dom.js';

export class Figures {
  private keys = '';
  private cards = new Map<string, { value: HTMLElement; detail: HTMLElement }>();

  constructor(private readonly root: HTMLElement) {}

  render(list: Figure[]): void {
    const keys = list.map((f) => f.key).join('\n');
    if (keys !== this.keys) {
      this.keys = keys;
      this.cards = new Map();
      this.root.replaceChildren(
        ...list.map((f) => {
          const value = h('span', { class: 'figure-value' });
          const detail = h('span', { class: 'figure-detail' });
          this.cards.set(f.key, { value, detail });
          const props = { class: f.key === 'node' ? 'figure node' : 'figure', data: { figure: f.key }, ...(f.title ? { title: f.title } : {}) };
          return h('div', props, h('span', { class: 'figure-label', text: f.label }), value, detail);
        }),
      );
    }
    for (const f of list) {
      const card = this.cards.get(f.key);
      if (!card) continue;
      setText(card.value, f.value);
      setText(card.detail, f.detail);
    }
  }
}
