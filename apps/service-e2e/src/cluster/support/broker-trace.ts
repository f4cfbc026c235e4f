// The broker's trace (TSR_LOG=trace) with Docker's timestamps: which worker got which request
// when, which workers announced themselves, when answers went back.

export interface Stamped {
  at: number;
  line: string;
}

const NEW_TASK = /^\[broker\] new_task: worker="([^"]*)" client="([^"]*)" request="([^"]*)"$/;
const READY = /^\[broker\] backend_message: worker="([^"]*)" kind="ready"$/;
const REPLY = /^\[broker\] reply: client="([^"]*)" reply="([^"]*)"$/;

export interface Dispatch {
  at: number;
  worker: string;
  client: string;
  request: string;
}

export const dispatches = (log: readonly Stamped[]): Dispatch[] =>
  log.flatMap(({ at, line }) => {
    const m = NEW_TASK.exec(line);
    return m ? [{ at, worker: m[1], client: m[2], request: m[3] }] : [];
  });

export const readies = (log: readonly Stamped[]): { at: number; worker: string }[] =>
  log.flatMap(({ at, line }) => {
    const m = READY.exec(line);
    return m ? [{ at, worker: m[1] }] : [];
  });

export const replies = (log: readonly Stamped[]): { at: number; client: string; reply: string }[] =>
  log.flatMap(({ at, line }) => {
    const m = REPLY.exec(line);
    return m ? [{ at, client: m[1], reply: m[2] }] : [];
  });

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
