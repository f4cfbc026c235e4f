/**
 * The main job with nothing but Node: a whole deployment as separate processes in the seed's
 * order (broker, then workers, then clients), each client's reply shown, the service kept up
 * until Ctrl-C (or, with --exit, stopped once every client has its answer).
 */
import { createInterface } from 'node:readline';
import { runProgram } from '@tsr/runtime';
import { type AppProcess, spawnApp, stopApp, waitForOutput } from '@tsr/testing';
import { localOptions } from './options';

const running: AppProcess[] = [];

/** Starts a program and echoes its output, each line behind the program's name. */
function start(label: string, proc: AppProcess): AppProcess {
  running.push(proc);
  for (const stream of [proc.child.stdout, proc.child.stderr]) {
    if (stream) createInterface({ input: stream }).on('line', (line) => console.log(`${label.padEnd(6)}| ${line}`));
  }
  return proc;
}

async function stopAll(): Promise<void> {
  await Promise.all(running.map((p) => stopApp(p, 'SIGTERM')));
}

runProgram('deploy-local', localOptions, async (o) => {
  const log = { TSR_LOG: 'info' };
  let stopping = false;
  const stop = async (why: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`local | ${why}: stopping ${running.length} processes`);
    await stopAll();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('Ctrl-C'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  // Several brokers serve at once: broker n on the ports + 10 n; workers serve them all, clients know them all.
  const port = (base: number, n: number) => String(base + 10 * n);
  const brokers = Array.from({ length: o.brokers }, (_, n) => {
    const http = o.httpPort ? ['--http-port', port(o.httpPort, n), '--http-bind', '127.0.0.1'] : [];
    return start(`bro${n + 1}`, spawnApp('broker', [port(o.frontendPort, n), port(o.backendPort, n), ...http], log));
  });
  await Promise.all(brokers.map((b) => waitForOutput(b, o.httpPort ? /status page http:\S+/ : /frontend tcp:\S+, backend/)));
  const list = (base: number) => brokers.map((_, n) => `127.0.0.1:${port(base, n)}`).join(',');
  const pages = o.httpPort ? brokers.map((_, n) => `http://localhost:${port(o.httpPort, n)}/`) : [];

  const workers = Array.from({ length: o.workers }, (_, i) =>
    start(`wor${i + 1}`, spawnApp('worker', [list(o.backendPort), '--delay', String(o.delayMs)], log)),
  );
  await Promise.all(workers.map((w) => waitForOutput(w, /connecting/)));

  const clients = Array.from({ length: o.clients }, (_, i) =>
    start(`cli${i + 1}`, spawnApp('client', [list(o.frontendPort)], { TSR_LOG: 'error' })),
  );
  const codes = await Promise.all(clients.map((c) => c.exited));
  const failed = codes.filter((c) => c !== 0).length;
  console.log(`local | ${o.clients - failed}/${o.clients} clients answered`);
  if (o.exit) {
    await stopAll();
    process.exit(failed ? 1 : 0);
  }
  console.log(
    `local | service up: ${o.brokers} broker(s), frontends ${list(o.frontendPort)}; try: node dist/apps/client/main.js ${list(o.frontendPort)}; Ctrl-C stops it`,
  );
  for (const page of pages) console.log(`local | status page: ${page} (metrics: ${page}metrics)`);
});
