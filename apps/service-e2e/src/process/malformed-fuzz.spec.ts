import { Dealer } from 'zeromq';
import { stopApp } from '@tsr/testing';
import { localDeployment } from '../support/deployment';
import { badClientMessage, badWorkerMessage, prng } from '../support/fuzz';
import { memoryBytes } from '../support/monitoring';

const SEED = Number(process.env['FUZZ_SEED'] ?? 0x7a5c0de);
const ROUNDS = 2;
const PER_SOCKET_PER_ROUND = 2500; // 2 rounds x 2 sockets x 2500 = 10,000 sequences

const rssKiB = (pid: number) => memoryBytes(pid, 'VmRSS') / 1024;

describe(`malformed input fuzzing (seed ${SEED}; set FUZZ_SEED to replay)`, () => {
  const deployment = localDeployment('all');

  it('survives 10,000 random bad frame sequences on both sockets, serving correct clients throughout, memory flat', async () => {
    const broker = await deployment.startBroker(['--max-request', '262144']);
    await deployment.startWorker(0);
    const random = prng(SEED);
    // Correct clients keep working while the garbage flows.
    const load = deployment.client(['--requests', '1500', '--concurrency', '4', '--json']);

    const front = new Dealer({ linger: 0 });
    const back = new Dealer({ linger: 0, routingId: 'W fuzzer' });
    front.connect(`tcp://127.0.0.1:${deployment.frontendPort}`);
    back.connect(`tcp://127.0.0.1:${deployment.backendPort}`);
    const rss: number[] = [];
    try {
      for (let round = 0; round < ROUNDS; round++) {
        for (let i = 0; i < PER_SOCKET_PER_ROUND; i++) {
          await front.send(badClientMessage(random));
          await back.send(badWorkerMessage(random));
        }
        // A correct request behind the garbage on the same connection: its answer means the
        // broker has read everything before it.
        await front.send(['', `probe-${round}`]);
        const [, answer] = await front.receive();
        expect(answer.toString()).toMatch(new RegExp(`^probe-${round} W `));
        rss.push(rssKiB(broker.child.pid as number));
      }
      // A message over the frontend's hard limit: the broker drops that connection and goes on.
      const huge = new Dealer({ linger: 0 });
      huge.connect(`tcp://127.0.0.1:${deployment.frontendPort}`);
      await huge.send(['', Buffer.alloc(1_000_000)]);
      huge.close();
    } catch (e) {
      back.close();
      throw e;
    } finally {
      front.close();
    }
    // The backend garbage, then a ready on that connection: once this "worker" is sent a request
    // (which it answers like a worker), every bad backend message before it has been read.
    expect(await load.exited).toBe(0);
    await back.send(['', '', '', '']);
    void (async () => {
      for await (const [, client, , body] of back) await back.send(['', client, '', `${body} W fuzzer`]);
    })().catch(() => undefined);
    let servedByFuzzer = false;
    for (let i = 0; i < 20 && !servedByFuzzer; i++) {
      const { stdout } = await deployment.request(`last-probe-${i}`);
      expect(stdout).toMatch(new RegExp(`^last-probe-${i} W `));
      servedByFuzzer = stdout.endsWith('W fuzzer\n'); // LRU: the two workers take turns
    }
    back.close();
    expect(servedByFuzzer).toBe(true);
    expect(JSON.parse(load.stdout)).toMatchObject({ requests: 1500, answered: 1500, errors: 0 });
    expect(broker.child.exitCode).toBeNull();
    // Flat: the second half of the garbage leaves the broker's memory where the first half did.
    expect(rss[1] - rss[0]).toBeLessThan(16 * 1024);
    await stopApp(broker);
    const n = ROUNDS * PER_SOCKET_PER_ROUND;
    expect(broker.stdout).toMatch(new RegExp(`malformed frontend ${n}, malformed backend ${n}`));
    process.stdout.write(`load: ${load.stdout}`);
    process.stdout.write(
      `fuzz seed ${SEED}: ${2 * n} bad sequences, broker RSS ${rss.map((k) => `${(k / 1024).toFixed(1)} MiB`).join(' -> ')}\n`,
    );
  });
});
