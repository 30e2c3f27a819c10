/** What the figures were measured on, for the JSON line of every bench. */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

function packageVersion(name: string): string | null {
  try {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : null;
  } catch {
    return null;
  }
}

export interface MachineInfo {
  cpus: number;
  model: string;
  mem_gib: number;
  node: string;
  platform: string;
  workerd: string | null;
  miniflare: string | null;
  loadavg_1m_at_start: number;
  note: string;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    model: cpus[0]?.model ?? 'unknown',
    mem_gib: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    workerd: packageVersion('workerd'),
    miniflare: packageVersion('miniflare'),
    loadavg_1m_at_start: Math.round((os.loadavg()[0] ?? 0) * 100) / 100,
    note:
      cpus.length <= 2
        ? `${cpus.length}-core machine: the load generator, workerd and ClickHouse share these cores; local workerd has no CPU limits, so these are not production figures`
        : 'local workerd has no CPU limits, so these are not production figures',
  };
}
