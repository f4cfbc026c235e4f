import { localDeployment } from '../support/deployment';
import { eventually } from '../support/wait';
import { plainRequest } from '../support/plain-peers';

/**
 * Named services as the wire shows them (docs/protocol.md, "Services"), driven by hand-written
 * peers that check nothing: the envelope, the per-service routing, discovery, a handler's
 * failure and the no-service answer, next to seed-style REQ clients and workers.
 */
describe('services on the wire, against peers that check nothing', () => {
  const deployment = localDeployment();
  const worker = (identity: string) => deployment.rawWorker(identity, true);
  const client = () => deployment.envelopeClient();

  it('answers a request for a service nobody serves with no-service once its grace is over, in either form', async () => {
    await deployment.startBroker(['--service-grace', '300', '--startup-grace', '0']);
    const c = client();
    const sent = performance.now();
    await c.send('nobody', 'id-1', 'hello');
    expect(await c.receive()).toEqual(['', 'TSR/1 ERR', 'id-1', 'no-service nobody']);
    const waited = performance.now() - sent;
    expect(waited).toBeGreaterThanOrEqual(290);
    expect(waited).toBeLessThan(300 + 700);
    // A seed REQ client of the default service with no worker gets the same, as a body.
    expect(await plainRequest(deployment.frontendPort, 'hello', 3000)).toBe('TSR/1 ERR no-service default');
  });

  it("routes each service's requests to its own workers, hands back the request id, and keeps seed peers on the default service", async () => {
    await deployment.startBroker(['--startup-grace', '0']);
    const upper = worker('W upper-1');
    const seed = worker('W seed-1');
    await upper.ready(true, 'upper');
    await seed.ready();
    const c = client();
    await eventually('both workers registered', async () => {
      await c.send('tsr.services', 'd0', '');
      const answer = await c.receive();
      return (
        answer?.[3] ===
        JSON.stringify([
          { name: 'default', workers: 1, ready: 1, busy: 0, waiting: 0 },
          { name: 'upper', workers: 1, ready: 1, busy: 0, waiting: 0 },
        ])
      );
    });

    await c.send('upper', 'a1', 'shout');
    const plain = plainRequest(deployment.frontendPort, 'p1', 3000);
    await eventually('each worker got its own request', async () => upper.requests.length === 1 && seed.requests.length === 1);
    expect(upper.requests[0].body).toBe('shout');
    expect(seed.requests[0].body).toBe('p1');
    await upper.reply(upper.requests[0].envelope, 'SHOUT');
    await seed.reply(seed.requests[0].envelope, 'p1 W seed-1');
    expect(await c.receive()).toEqual(['', 'TSR/1 REP', 'a1', 'SHOUT']);
    expect(await plain).toBe('p1 W seed-1');

    // A handler's failure reaches the client as an error; the worker stays and gets the next request.
    await c.send('upper', 'a2', 'bad');
    await eventually('the second request reached the worker', async () => upper.requests.length === 2);
    await upper.fail(upper.requests[1].envelope, 'cannot shout "bad"');
    expect(await c.receive()).toEqual(['', 'TSR/1 ERR', 'a2', 'handler cannot shout "bad"']);
    await c.send('upper', 'a3', 'again');
    await eventually('the worker serves on', async () => upper.requests.length === 3);

    // Discovery counts it busy now; one service can be asked about by name.
    await c.send('tsr.services', 'd1', 'upper');
    expect(await c.receive()).toEqual([
      '',
      'TSR/1 REP',
      'd1',
      JSON.stringify([{ name: 'upper', workers: 1, ready: 0, busy: 1, waiting: 0 }]),
    ]);

    // A name no worker may have is refused at once, with the reason.
    await c.send('no such service', 'b1', 'x');
    expect(await c.receive()).toEqual(['', 'TSR/1 ERR', 'b1', 'bad-request invalid service name "no such service"']);
  });
});
