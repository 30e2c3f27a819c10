import 'uplot/dist/uPlot.min.css';
import './style.css';
import { readConfig } from './config.ts';
import { Dashboard } from './dashboard.ts';

/** Last resort: a broken dashboard says so instead of going blank. */
function showFatal(text: string): void {
  const box = document.getElementById('fatal');
  if (!box) return;
  box.hidden = false;
  box.textContent = `Dashboard error: ${text}. Reload the page; if it persists, check the console.`;
}

window.addEventListener('error', (e) => showFatal(e.message || 'unknown error'));
window.addEventListener('unhandledrejection', (e: PromiseRejectionEvent) => showFatal(e.reason instanceof Error ? e.reason.message : String(e.reason)));

new Dashboard(readConfig(location.search)).start().catch((err: unknown) => showFatal(err instanceof Error ? err.message : String(err)));
