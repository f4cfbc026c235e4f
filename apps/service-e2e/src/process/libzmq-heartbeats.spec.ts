import { Request, Router, type Socket } from 'zeromq';
import { freePort, waitForOutput } from '@tsr/testing';
import { localDeployment } from '../support/deployment';

/**
 * ZMTP heartbeats (RFC 37) between libzmq peers that set them and our programs: a PING must be
 * answered with a PONG, or libzmq drops the connection after its heartbeat timeout and whatever
 * was in flight on it is lost. Needs the built programs (`nx run-many -t build`).
 */

const HEARTBEATS = { heartbeatInterval: 100, heartbeatTimeout: 300 };

/** Counts a libzmq socket's `disconnect` events (its monitor) until it closes. */
function countDisconnects(socket: Socket): { count: number } {
  const counter = { count: 0 };
  const events = socket.events;
  void (async () => {
    while (!events.closed) {
      try {
        if ((await events.receive()).type === 'disconnect') counter.count++;
      } catch {
        return;
      }
    }
  })();
  return counter;
}

describe('libzmq peers with heartbeats 100/300 ms', () => {
  const deployment = localDeployment();

  it('a REQ client through our broker to a worker that takes 800 ms: every request answered', async () => {
    await deployment.startBroker();
    const { id } = await deployment.startWorker(800);
    const req = deployment.own(new Request({ linger: 0, receiveTimeout: 3000, ...HEARTBEATS }));
    const disconnects = countDisconnects(req);
    req.connect(`tcp://127.0.0.1:${deployment.frontendPort}`);
    const answers: string[] = [];
    for (let i = 0; i < 10; i++) {
      await req.send(`hb-${i}`);
      try {
        answers.push((await req.receive())[0].toString());
      } catch {
        break; // a REQ that timed out cannot send again: the rest count as lost
      }
    }
    console.log(
      `a libzmq REQ with heartbeats 100/300 through our broker: ${answers.length} of 10 answered; ${disconnects.count} disconnects`,
    );
    expect(answers).toEqual(Array.from({ length: 10 }, (_, i) => `hb-${i} ${id}`));
    expect(disconnects.count).toBe(0);
  });

  describe('our worker behind a libzmq ROUTER "broker" written here', () => {
    it('20 requests with a 500 ms worker delay: all 20 replies received', async () => {
      const port = await freePort();
      const router = deployment.own(new Router({ linger: 0, receiveTimeout: 2000, ...HEARTBEATS }));
      await router.bind(`tcp://127.0.0.1:${port}`);
      const disconnects = countDisconnects(router);
      const worker = deployment.spawn('worker', ['127.0.0.1', String(port), '--delay', '500']);
      await waitForOutput(worker, /W \S+ connecting/);
      // the seed's protocol: a ready is [workerId, '', '', '', body]
      const ready = await router.receive();
      expect(ready.length).toBe(5);
      expect(ready.slice(1, 4).map((f) => f.length)).toEqual([0, 0, 0]);
      const workerId = ready[0];
      const replies: string[] = [];
      const lost: number[] = [];
      for (let i = 0; i < 20; i++) {
        const ticket = Buffer.from(`ticket-${i}`);
        await router.send([workerId, '', ticket, '', `req-${i}`]);
        let got: Buffer[] | undefined;
        try {
          // skip anything that is not this request's reply (a second ready after a reconnect, say)
          do got = await router.receive();
          while (!(got.length === 5 && got[2].equals(ticket)));
        } catch {
          got = undefined;
        }
        if (got) replies.push(got[4].toString());
        else lost.push(i);
      }
      console.log(
        `our worker behind a libzmq ROUTER with heartbeats 100/300: ${replies.length} of 20 replies; lost: ${lost.join(', ') || 'none'}; the ROUTER saw ${disconnects.count} disconnects`,
      );
      expect(lost).toEqual([]);
      expect(disconnects.count).toBe(0); // the worker's connection was never dropped for missing PONGs
      expect(replies.map((r) => r.split(' ')[0])).toEqual(Array.from({ length: 20 }, (_, i) => `req-${i}`));
    });
  });
});
