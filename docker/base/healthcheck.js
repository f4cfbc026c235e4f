// The images' HEALTHCHECK (node only: the runtime images may have no shell). It looks at the TCP
// sockets that the component holds (/proc/net/tcp{,6} and the container's /proc/<pid>/fd; not,
// e.g., Docker's embedded DNS in the same network namespace), so it needs no port configuration
// and sends no ZeroMQ message:
//
//   node healthcheck.js listening [N]   broker: at least N ports (default 2: frontend and
//                                       backend) are listening and each accepts a TCP connection
//   node healthcheck.js connected       worker, client: an outgoing TCP connection (to the broker)
//                                       is established; their socket reconnects by itself, so while the
//                                       broker is gone there is none and the container turns unhealthy
//   node healthcheck.js http PATH...    broker, worker (the images' default): every PATH of the
//                                       program's HTTP endpoint (port HTTP_PORT) answers 200, e.g.
//                                       /healthz (receive loops alive) and /readyz (broker: bound;
//                                       worker: registered with a broker that answers heartbeats)
//
// Exit 0 healthy, 1 unhealthy (Docker's convention), with one line saying why.
'use strict';
const fs = require('node:fs');
const net = require('node:net');

/**
 * How long the component may take to accept or answer: below the HEALTHCHECK's own 10-s timeout,
 * so that a check that fails says why. Seconds, not less: a busy container on a loaded node (its
 * CPU share capped, this check's own Node starting in the same share) is slow, not dead, and a
 * swarm replaces an unhealthy broker with its queue.
 */
const ANSWER_WITHIN_MS = 8000;

const LISTEN = '0A';
const ESTABLISHED = '01';

/**
 * Socket inodes held by the container's processes (the component is PID 1, or PID 1's child under
 * `docker run --init`); undefined when no process's fds can be read.
 */
function componentSockets() {
  let readable = false;
  const inodes = new Set();
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid)) {
    try {
      for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
        const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]);
      }
      readable = true;
    } catch {
      // another user's process, or gone
    }
  }
  return readable ? inodes : undefined;
}

function sockets() {
  const mine = componentSockets();
  const out = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue; // no IPv6 in this namespace
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 4) continue;
      const [localIp, localPort] = f[1].split(':');
      // Not the component's: e.g. Docker's embedded DNS listening on 127.0.0.11 in this namespace.
      if (mine ? !mine.has(f[9]) : localIp === '0B00007F') continue;
      out.push({
        v6: file.endsWith('6'),
        localIp,
        localPort: parseInt(localPort, 16),
        remotePort: parseInt(f[2].split(':')[1], 16),
        state: f[3],
      });
    }
  }
  return out;
}

function done(ok, why) {
  process.stdout.write(`${ok ? 'healthy' : 'unhealthy'}: ${why}\n`);
  process.exit(ok ? 0 : 1);
}

function accepts(port, v6) {
  return new Promise((resolve) => {
    const s = net.connect({ host: v6 ? '::1' : '127.0.0.1', port, timeout: ANSWER_WITHIN_MS });
    const end = (ok) => {
      s.destroy();
      resolve(ok);
    };
    s.once('connect', () => end(true));
    s.once('timeout', () => end(false));
    s.once('error', () => end(false));
  });
}

/** GET http://127.0.0.1:<port><path>: the status and the first line of the body. */
function get(port, path) {
  return new Promise((resolve) => {
    const req = require('node:http').get({ host: '127.0.0.1', port, path, timeout: ANSWER_WITHIN_MS }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, line: body.split('\n')[0] }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${ANSWER_WITHIN_MS / 1000} s`)));
    req.on('error', (e) => resolve({ status: 0, line: e.message }));
  });
}

async function http(paths) {
  const port = Number(process.env.HTTP_PORT);
  if (!(port > 0)) return done(false, 'HTTP_PORT is not set: the HTTP endpoint is off (use the listening or connected check)');
  const lines = [];
  for (const path of paths.length ? paths : ['/healthz']) {
    const { status, line } = await get(port, path);
    if (status !== 200) return done(false, `${path} ${status || 'unreachable'}: ${line}`);
    lines.push(`${path} ${line}`);
  }
  return done(true, lines.join('; '));
}

async function main() {
  const [mode = 'listening', arg] = process.argv.slice(2);
  if (mode === 'http') return http(process.argv.slice(3));
  const all = sockets();
  const listening = new Map(all.filter((s) => s.state === LISTEN).map((s) => [s.localPort, s]));
  if (mode === 'listening') {
    const min = Number(arg ?? 2);
    if (listening.size < min) return done(false, `${listening.size} listening port(s), want ${min}`);
    for (const [port, s] of listening) {
      // A socket bound to one non-loopback address only is not reachable from here: skip it.
      const any = /^0+$/.test(s.localIp);
      const loopback = s.v6 ? s.localIp === '00000000000000000000000001000000' : s.localIp === '0100007F';
      if ((any || loopback) && !(await accepts(port, s.v6))) return done(false, `port ${port} does not accept connections`);
    }
    return done(true, `listening on ${[...listening.keys()].join(', ')}`);
  }
  if (mode === 'connected') {
    const out = all.filter((s) => s.state === ESTABLISHED && !listening.has(s.localPort));
    if (out.length === 0) return done(false, 'no connection to the broker');
    return done(true, `connected to port ${[...new Set(out.map((s) => s.remotePort))].join(', ')}`);
  }
  return done(false, `unknown mode ${mode} (listening [N] | connected | http PATH...)`);
}

main().catch((e) => done(false, e.message));
