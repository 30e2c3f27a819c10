import type { QueuedEvent } from './event.ts';
import { BEACON_MAX_BYTES } from './limits.ts';
import { batchBody, fitCount } from './transport.ts';

type Listener = () => void;

interface EventTargetLike {
  addEventListener(type: string, listener: Listener): void;
  removeEventListener(type: string, listener: Listener): void;
}

/** The browser globals the page-hide path needs, named structurally so this compiles without the DOM lib (Workers). */
interface PageGlobals extends EventTargetLike {
  document: EventTargetLike & { visibilityState: string };
  navigator: { sendBeacon(url: string, data: string): boolean };
}

function isPage(scope: object): scope is PageGlobals {
  return (
    'addEventListener' in scope &&
    typeof scope.addEventListener === 'function' &&
    'removeEventListener' in scope &&
    typeof scope.removeEventListener === 'function' &&
    'document' in scope &&
    typeof scope.document === 'object' &&
    scope.document !== null &&
    'addEventListener' in scope.document &&
    typeof scope.document.addEventListener === 'function' &&
    'navigator' in scope &&
    typeof scope.navigator === 'object' &&
    scope.navigator !== null &&
    'sendBeacon' in scope.navigator &&
    typeof scope.navigator.sendBeacon === 'function'
  );
}

export interface PageWatch {
  sendBeacon(url: string, data: string): boolean;
  stop(): void;
}

/**
 * Calls `onHide` when the page may be about to go away: `visibilitychange` to
 * hidden (the last event mobile browsers reliably fire) and `pagehide` (also
 * fired when entering the back/forward cache). Undefined outside browsers.
 */
export function watchPageHide(onHide: Listener): PageWatch | undefined {
  const scope: object = globalThis;
  if (!isPage(scope)) return undefined;
  const onVisibility = (): void => {
    if (scope.document.visibilityState === 'hidden') onHide();
  };
  scope.addEventListener('pagehide', onHide);
  scope.document.addEventListener('visibilitychange', onVisibility);
  return {
    sendBeacon: (url, data) => scope.navigator.sendBeacon(url, data),
    stop() {
      scope.removeEventListener('pagehide', onHide);
      scope.document.removeEventListener('visibilitychange', onVisibility);
    },
  };
}

/**
 * Sends `items` as beacons of at most BEACON_MAX_BYTES each, in order, until
 * the browser refuses one (its queue quota is full). Returns how many items
 * went out. A string body goes as text/plain: no CORS preflight.
 */
export function sendBeacons(send: (url: string, data: string) => boolean, url: string, items: readonly QueuedEvent[]): number {
  let sent = 0;
  while (sent < items.length) {
    const end = sent + fitCount(items, sent, Infinity, BEACON_MAX_BYTES);
    if (!send(url, batchBody(items.slice(sent, end)))) break;
    sent = end;
  }
  return sent;
}
