/** Messages above the dashboard; the demo banner cannot be dismissed. */
import { button, el } from './dom.ts';

export type NoticeKind = 'error' | 'warn' | 'info';

export class Notices {
  constructor(private readonly root: HTMLElement) {}

  /** Shows a message once per id (a second call with the same id updates its text). */
  show(kind: NoticeKind, text: string, id: string): void {
    const existing = this.find(id);
    if (existing) {
      const textEl = existing.querySelector('.notice-text');
      if (textEl) textEl.textContent = text;
      return;
    }
    const box = el('div', `notice notice--${kind}`);
    box.setAttribute('role', kind === 'error' ? 'alert' : 'status');
    box.dataset.noticeId = id;
    const close = button('notice-close', '×', () => box.remove());
    close.setAttribute('aria-label', 'Dismiss');
    box.append(el('span', 'notice-text', text), close);
    this.root.append(box);
  }

  remove(id: string): void {
    this.find(id)?.remove();
  }

  /** Login-free demo mode says, always and in plain words, that the numbers are made up. */
  demoBanner(projectId: string | null): void {
    if (this.find('demo')) return;
    const box = el('div', 'notice notice--demo');
    box.dataset.noticeId = 'demo';
    box.dataset.testid = 'demo-banner';
    box.setAttribute('role', 'note');
    const label = el('strong', 'demo-label', 'Demo data');
    const text = el('span', 'notice-text');
    text.append(
      label,
      ` — synthetic traffic from `,
      el('code', '', 'npm run demo'),
      `${projectId ? ` in project “${projectId}”` : ''}. These are not real users, sales or errors.`,
    );
    box.append(text);
    this.root.prepend(box);
  }

  private find(id: string): HTMLElement | null {
    for (const child of this.root.children) {
      if (child instanceof HTMLElement && child.dataset.noticeId === id) return child;
    }
    return null;
  }
}
