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
 * A `node -r` preload that breaks a receive loop on demand: a message whose last frame is
 * `BREAK LOOP` makes the socket's receive fail, as a socket error or a bug would. Test-only: the
 * programs have no such hook.
 */
export const BREAK_LOOP_PRELOAD = join(__dirname, 'break-receive-loop.js');
export const BREAK_LOOP = 'BREAK LOOP';
