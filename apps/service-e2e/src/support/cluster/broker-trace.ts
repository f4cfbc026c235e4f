// The broker's trace (TSR_LOG=trace) with Docker's timestamps: which worker got which request
// when, which workers announced themselves, when answers went back.

export interface Stamped {
  at: number;
  line: string;
}

/** A trace line's step and its `name="value"` fields (whatever fields a step carries, in any order). */
function step(line: string): { step: string; fields: Record<string, string> } | undefined {
  const m = /^\[broker\] (\w+): (.*)$/.exec(line);
  if (!m) return undefined;
  const fields: Record<string, string> = {};
  for (const [, k, v] of m[2].matchAll(/(\w+)="([^"]*)"/g)) fields[k] = v;
  return { step: m[1], fields };
}

/** The lines of one step, with their time and fields. */
function steps(log: readonly Stamped[], name: string): { at: number; fields: Record<string, string> }[] {
  return log.flatMap(({ at, line }) => {
    const s = step(line);
    return s && s.step === name ? [{ at, fields: s.fields }] : [];
  });
}

export interface Dispatch {
  at: number;
  worker: string;
  client: string;
  request: string;
}

export const dispatches = (log: readonly Stamped[]): Dispatch[] =>
  steps(log, 'new_task').map(({ at, fields }) => ({
    at,
    worker: fields['worker'] ?? '',
    client: fields['client'] ?? '',
    request: fields['request'] ?? '',
  }));

export const readies = (log: readonly Stamped[]): { at: number; worker: string }[] =>
  steps(log, 'backend_message')
    .filter(({ fields }) => fields['kind'] === 'ready')
    .map(({ at, fields }) => ({ at, worker: fields['worker'] ?? '' }));

export const replies = (log: readonly Stamped[]): { at: number; client: string; reply: string }[] =>
  steps(log, 'reply').map(({ at, fields }) => ({ at, client: fields['client'] ?? '', reply: fields['reply'] ?? '' }));

/** Dispatches of a request (from one client socket) to a second worker or more: the broker's re-dispatches. */
export function redispatched(log: readonly Stamped[]): number {
  const seen = new Map<string, number>();
  for (const d of dispatches(log)) {
    const key = `${d.client}\u0000${d.request}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  return [...seen.values()].reduce((a, n) => a + n - 1, 0);
}

/** A worker id (`W <container hostname>-<pid>-<n>`) belongs to a container when its host name is the container's short id. */
export const workerOf = (container: string) => (worker: string) => worker.startsWith(`W ${container.slice(0, 12)}-`);
