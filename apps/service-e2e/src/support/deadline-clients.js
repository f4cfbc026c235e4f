// Our clients with short deadlines, as a user runs them: the built @tsr-broker/client package
// (dist/libs/client), in a process of their own.
// `node deadline-clients.js <frontend> <clients> <in flight each> <timeout ms> <retries> [plain]`:
// each client keeps that many requests in flight to the service `default` (echo workers answer
// `<request> <worker id>`) until SIGTERM, checks every answer against its request, and prints one
// line per outcome as it happens, times in epoch ms:
//   `answer <at> <ms waited>`, `failed <at> <message>`, `wrong <at> <request> -> <answer>`;
// then, at SIGTERM, once every request in flight has ended, one JSON line of totals.
// Each request's body is `<client>-<n>-<deadline>`: `deadline` (epoch ms) is when its client stops
// waiting, `timeout × (retries + 1)` from the request() call, for the workers to check against.
// With `plain`, the clients send no metadata at all (plain mode: no deadline reaches the broker).
'use strict';
const { join } = require('node:path');
const { Client } = require(join(__dirname, '../../../../dist/libs/client'));

const [frontend, clients, inFlight, timeout, retries, mode] = process.argv.slice(2);
const plain = mode === 'plain';
const budget = Number(timeout) * (Number(retries) + 1);
const totals = { sent: 0, answered: 0, failed: 0, wrong: 0, retried: 0, stray: 0 };
let running = true;
const say = (line) => process.stdout.write(`${line}\n`);

async function loop(client, c, k) {
  for (let n = 0; running; n++) {
    const sent = Date.now();
    const body = `c${c}.${k}-${n}-${sent + budget}`;
    totals.sent++;
    try {
      const answer = (await client.request('default', body)).toString();
      const at = Date.now();
      if (answer.startsWith(`${body} `)) {
        totals.answered++;
        say(`answer ${at} ${at - sent}`);
      } else {
        totals.wrong++;
        say(`wrong ${at} ${body} -> ${answer.slice(0, 200)}`);
      }
    } catch (e) {
      totals.failed++;
      say(`failed ${Date.now()} ${String(e.message).replace(/\n/g, ' ')}`);
    }
  }
}

const all = Array.from({ length: Number(clients) }, (_, c) => {
  const client = new Client({ broker: frontend, timeout: Number(timeout), retries: Number(retries), plain });
  // Plain mode sends one request at a time per client: more in flight would only queue in the client.
  const loops = Array.from({ length: plain ? 1 : Number(inFlight) }, (_, k) => loop(client, c, k));
  return Promise.all(loops).then(async () => {
    totals.retried += client.retried;
    totals.stray += client.stray;
    await client.close();
  });
});

process.on('SIGTERM', () => {
  running = false;
  void Promise.all(all).then(() => {
    say(JSON.stringify(totals));
    process.exit(0);
  });
});
say('clients running');
