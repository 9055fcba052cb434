// Building DOM nodes without HTML strings: every text the node sends (workload names, zone names,
// notices) goes in as a text node, so no name can inject markup.

type Child = Node | string | null | undefined | false;

export interface Props {
  class?: string;
  text?: string;
  title?: string;
  /** data-* attributes, by name without the prefix. */
  data?: Record<string, string>;
  attrs?: Record<string, string>;
}

/** A new element with its class, text, attributes and children (strings become text nodes). */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props.class) el.className = props.class;
  if (props.text !== undefined) el.textContent = props.text;
  if (props.title !== undefined) el.title = props.title;
  for (const [k, v] of Object.entries(props.data ?? {})) el.dataset[k] = v;
  for (const [k, v] of Object.entries(props.attrs ?? {})) el.setAttribute(k, v);
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

/** The element with this id; the shell (src/server/landingPage.ts) has every one the page asks for. */
export function byId(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}: the shell and the script do not match`);
  return el;
}

/** Sets an element's text only when it changed: polls rewrite the same text every second. */
export function setText(el: Element, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}
