// Our clients as a user runs them: the built @tsr-broker/client package (dist/libs/client), in a
// process of their own. `node checking-clients.js <frontends> <clients> <timeout ms> <run ms>`:
// each client sends one request after another to the service `default` (echo workers answer
// `<request> <worker id>`) until the run is over, checks every answer against its request, and
// the totals are printed as one JSON line at the end.
'use strict';
const { join } = require('node:path');
const { Client } = require(join(__dirname, '../../../../dist/libs/client'));

const [frontends, clients, timeout, runMs] = process.argv.slice(2);
const totals = { answered: 0, wrong: 0, failed: [], longestMs: 0, retried: 0, stray: 0 };
const until = Date.now() + Number(runMs);

async function run(c) {
  const client = new Client({ broker: frontends, timeout: Number(timeout), retries: 10 });
  for (let i = 0; Date.now() < until; i++) {
    const body = `ours-${c}-${i}`;
    const sent = performance.now();
    try {
      const answer = (await client.request('default', body)).toString();
      totals.longestMs = Math.max(totals.longestMs, performance.now() - sent);
      if (answer.startsWith(`${body} `)) totals.answered++;
      else totals.wrong++;
    } catch (e) {
      totals.failed.push(`${body}: ${e.message}`);
    }
  }
  totals.retried += client.retried;
  totals.stray += client.stray;
  await client.close();
}

Promise.all(Array.from({ length: Number(clients) }, (_, c) => run(c))).then(() => {
  totals.longestMs = Math.round(totals.longestMs);
  console.log(JSON.stringify(totals));
});
