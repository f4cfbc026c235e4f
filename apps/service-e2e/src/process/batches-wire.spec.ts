import { stopApp } from '@tsr/testing';
import { eventually } from '../support/wait';
import { localDeployment } from '../support/deployment';
import { Dealer } from 'zeromq';
import { memoryBytes } from '../support/monitoring';
import { plainRequest, readRecords, writeRecords } from '../support/plain-peers';

/**
 * Batches as the wire shows them (docs/protocol.md "Batches"), driven by hand-written workers and
 * plain REQ clients that check nothing: who is offered them, what travels before and after the
 * acceptance, and a batch that breaks the rules.
 */
describe('batches on the wire, against peers that check nothing', () => {
  const deployment = localDeployment();
  const worker = (identity: string) => deployment.rawWorker(identity, true);

  it('offers batches to TSR/1 workers only, and sends classic frames to a worker that has not accepted', async () => {
    await deployment.startBroker(['--startup-grace', '0']);
    const seed = deployment.rawWorker('W seed');
    const tsr = worker('W tsr');
    await seed.ready();
    await tsr.ready(true, 'upper', 4);
    await eventually('the TSR/1 worker was offered batches', async () => tsr.offers.length === 1);
    expect(tsr.offers[0]).toMatch(/^TSR\/1 BATCH max=[1-9]\d*$/);

    const c = deployment.envelopeClient();
    await c.send('upper', 'u1', 'shout');
    const plain = plainRequest(deployment.frontendPort, 'p1', 5000);
    await eventually('each worker got its request', async () => tsr.requests.length === 1 && seed.requests.length === 1);
    expect(tsr.requests[0]).toMatchObject({ body: 'shout', batched: false });
    expect(seed.requests[0]).toMatchObject({ body: 'p1', batched: false });
    await tsr.reply(tsr.requests[0].envelope, 'SHOUT');
    await seed.reply(seed.requests[0].envelope, 'p1 W seed');
    expect(await c.receive()).toEqual(['', 'TSR/1 REP', 'u1', 'SHOUT']);
    expect(await plain).toBe('p1 W seed');
    expect(seed.offers).toEqual([]);
    expect(tsr.batches).toEqual([]);
  });

  it("refills a worker's freed credit with one batch, and one batch of answers reaches each plain REQ client, a failure as its error", async () => {
    await deployment.startBroker(['--startup-grace', '0']);
    const w = worker('W batch');
    await w.ready(true, undefined, 4);
    await eventually('the offer', async () => w.offers.length === 1);
    await w.acceptBatches();
    const answers = Array.from({ length: 8 }, (_, i) => plainRequest(deployment.frontendPort, `r${i}`, 10_000));
    await eventually('the worker holds its credit of 4', async () => w.requests.length === 4);

    // One message answers all four; the broker sends the four requests that waited in one batch.
    const first = w.requests.slice(0, 4);
    await w.replyBatch(
      first.map(({ envelope, body }, i) =>
        i === 1 ? { envelope, body: `cannot serve ${body}`, failed: true } : { envelope, body: `${body} W batch` },
      ),
    );
    await eventually('the waiting four', async () => w.requests.length === 8);
    expect(w.batches.at(-1)).toBe(4);
    const rest = w.requests.slice(4);
    expect(rest.every((r) => r.batched)).toBe(true);
    await w.replyBatch(rest.map(({ envelope, body }) => ({ envelope, body: `${body} W batch` })));

    const failedBody = first[1].body;
    const expected = Array.from({ length: 8 }, (_, i) =>
      `r${i}` === failedBody ? `TSR/1 ERR handler cannot serve ${failedBody}` : `r${i} W batch`,
    );
    expect(await Promise.all(answers)).toEqual(expected);
  });

  it('drops a malformed batch whole and counts it; the request goes to another worker at its deadline, and the broker serves on', async () => {
    const broker = await deployment.startBroker(['--startup-grace', '0', '--answer-timeout', '500']);
    const bad = worker('W bad');
    await bad.ready(true);
    await eventually('the offer', async () => bad.offers.length === 1);
    await bad.acceptBatches();
    const answer = plainRequest(deployment.frontendPort, 'only', 10_000);
    await eventually('the request reached the first worker', async () => bad.requests.length === 1);
    const { envelope } = bad.requests[0];
    // A well-formed answer cut short by one byte: none of it may reach the client.
    await bad.replyBatch([], writeRecords([{ envelope, body: 'only W bad' }]).subarray(0, -1));

    const good = worker('W good');
    await good.ready(true);
    await eventually('the request, moved on at its deadline', async () => good.requests.length === 1, 5000);
    expect(good.requests[0].body).toBe('only');
    await good.reply(good.requests[0].envelope, 'only W good');
    expect(await answer).toBe('only W good');
    expect(broker.child.exitCode).toBeNull();
    await stopApp(broker);
    expect(broker.stdout).toMatch(/malformed backend 1\b/);
  });

  it("answers a hand-written client's question and its batches in batches, no-service included, and drops a malformed one", async () => {
    const broker = await deployment.startBroker(['--startup-grace', '0', '--service-grace', '300']);
    const w = worker('W upper');
    await w.ready(true, 'upper', 4);
    const client = deployment.own(new Dealer({ linger: 0, receiveTimeout: 5000 }));
    client.connect(`tcp://127.0.0.1:${deployment.frontendPort}`);
    const receive = async () => (await client.receive()).map(String);
    /** Answer records until `n` have come, from batches only. */
    const answers = async (n: number) => {
      const got = [];
      while (got.length < n) {
        const [delimiter, header, records] = await client.receive();
        expect([delimiter.toString(), header.toString()]).toEqual(['', 'TSR/1 REPS']);
        got.push(...readRecords(records).map(({ envelope, body, failed }) => [envelope.toString(), body, failed]));
      }
      return got;
    };

    await client.send(['', 'TSR/1 REQ', 'tsr.batch', 'q', '']);
    expect(await receive()).toEqual(['', 'TSR/1 REP', 'q', expect.stringMatching(/^TSR\/1 BATCH max=[1-9]\d*$/)]);

    await client.send([
      '',
      'TSR/1 REQS',
      'upper',
      writeRecords([
        { envelope: Buffer.from('1'), body: 'a' },
        { envelope: Buffer.from('2'), body: 'b' },
      ]),
    ]);
    await eventually('both requests at the worker', async () => w.requests.length === 2);
    for (const r of w.requests) await w.reply(r.envelope, r.body.toUpperCase());
    expect(await answers(2)).toEqual([
      ['1', 'A', false],
      ['2', 'B', false],
    ]);

    await client.send([
      '',
      'TSR/1 REQS',
      'nobody',
      writeRecords([
        { envelope: Buffer.from('3'), body: 'c' },
        { envelope: Buffer.from('4'), body: 'd' },
      ]),
    ]);
    expect(await answers(2)).toEqual([
      ['3', 'no-service nobody', true],
      ['4', 'no-service nobody', true],
    ]);

    // A batch of an unknown kind: dropped whole, unanswered; the broker answers the next message.
    const bad = writeRecords([{ envelope: Buffer.from('5'), body: 'e' }]);
    bad[0] = 9;
    await client.send(['', 'TSR/1 REQS', 'upper', bad]);
    await client.send(['', 'TSR/1 REQ', 'tsr.batch', 'q2', '']);
    expect((await receive()).slice(0, 3)).toEqual(['', 'TSR/1 REP', 'q2']);
    expect(w.requests).toHaveLength(2);
    await stopApp(broker);
    expect(broker.stdout).toMatch(/malformed frontend 1\b/);
  });

  it("keeps no batch's frame alive for a request that waits: memory follows what the queue counts", async () => {
    // Each batch: a tiny request for a service nobody serves (it waits out a long grace), then a
    // record larger than --max-request, refused at once. Were the tiny one a view into the frame,
    // every waiting request would keep 1.5 MiB alive that no byte limit sees.
    const broker = await deployment.startBroker(['--startup-grace', '0', '--service-grace', '60000', '--max-request', '1048576']);
    const rssMiB = () => memoryBytes(broker.child.pid as number, 'VmRSS') / 1024 / 1024;
    const client = deployment.own(new Dealer({ linger: 0, receiveTimeout: 10_000 }));
    client.connect(`tcp://127.0.0.1:${deployment.frontendPort}`);
    const large = 'x'.repeat(1.5 * 1024 * 1024);
    const before = rssMiB();
    const batches = 300;
    for (let i = 0; i < batches; i++) {
      await client.send([
        '',
        'TSR/1 REQS',
        'nobody',
        writeRecords([
          { envelope: Buffer.from(`w${i}`), body: 'tiny' },
          { envelope: Buffer.from(`r${i}`), body: large },
        ]),
      ]);
      const [, header, records] = await client.receive(); // the refusal: the broker has read this batch
      expect([header.toString(), readRecords(records).map((r) => [r.envelope.toString(), r.body, r.failed])]).toEqual([
        'TSR/1 REPS',
        [[`r${i}`, 'too-large 1048576', true]],
      ]);
    }
    const grown = rssMiB() - before;
    process.stdout.write(
      `batch frames: ${batches} × 1.5 MiB read, ${batches} requests waiting, broker RSS ${before.toFixed(0)} -> ${(before + grown).toFixed(0)} MiB\n`,
    );
    expect(grown).toBeLessThan(200); // views would keep 450 MiB
    expect(broker.child.exitCode).toBeNull();
  });
});
