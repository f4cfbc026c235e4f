import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A GET on loopback: status and body, or `undefined` when nothing answers (refused, reset). */
export async function httpGet(port: number, path: string): Promise<{ status: number; body: string } | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(3000) });
    return { status: res.status, body: await res.text() };
  } catch {
    return undefined;
  }
}

/** What the program's /metrics says (Prometheus' text format), or '' when nothing answers. */
export const scrape = async (port: number): Promise<string> => (await httpGet(port, '/metrics'))?.body ?? '';

/** The value of one sample in Prometheus' text format, e.g. `metric(text, 'x_total', { reason: 'poison' })`. */
export function metric(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');
  const prefix = wanted ? `${name}{${wanted}} ` : `${name} `;
  const line = text.split('\n').find((l) => l.startsWith(prefix));
  return line === undefined ? undefined : Number(line.slice(prefix.length));
}

/**
 * A preload (`node -r`; `preload()` of deployment.ts) that breaks a receive loop on demand: a message whose last frame is
 * `BREAK LOOP` makes the socket's receive fail, as a socket error or a bug would. Test-only: the
 * programs have no such hook.
 */
export const BREAK_LOOP_PRELOAD = join(__dirname, 'break-receive-loop.js');
export const BREAK_LOOP = 'BREAK LOOP';

/** A memory figure of a process from /proc/PID/status, in bytes (VmHWM: its peak); NaN once it is gone (a zombie has none). */
export function memoryBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) * 1024;
  } catch {
    return NaN;
  }
}
