import { Dealer, Request } from 'zeromq';
import {
  BATCH_ACCEPT,
  type BatchRecord,
  EMPTY,
  METADATA_OFFER,
  clientRequestFrames,
  encodeMetadata,
  parseMetadata,
  readyBody,
  unpackBatch,
  workerControlFrames,
} from '@tsr/protocol';
import { type Tracer, createTracer } from '@tsr/runtime';
import { freePort } from '@tsr/zmtp/testing';
import { defaultCoreOptions } from './broker-core-shapes';
import { BrokerServer } from './broker-server';

const serverOptions = (frontendPort: number, backendPort: number, heartbeatMs = 1000) => ({
  ...defaultCoreOptions,
  frontendPort,
  backendPort,
  bindHost: '127.0.0.1',
  heartbeatMs,
  maxReplyBytes: 2 * 1024 * 1024,
  maxConnections: 100,
  zmtpHeartbeatMs: 1000,
});

describe('BrokerServer', () => {
  it('reports a failure of a receive loop as fatal instead of going deaf', async () => {
    // A tracer that throws while a client request is handled stands for any bug in a handler.
    const throwing: Tracer = {
      ...createTracer('broker', 'silent'),
      tracing: true,
      step: (step) => {
        if (step === 'frontend_message') throw new Error('handler bug');
      },
    };
    const fatal: Error[] = [];
    const [frontendPort, backendPort] = [await freePort(), await freePort()];
    const server = new BrokerServer(serverOptions(frontendPort, backendPort), throwing, (e) => fatal.push(e));
    const client = new Request({ linger: 0 });
    try {
      await server.start();
      expect(server.health.liveness()).toEqual({ ok: true, why: 'receive loops alive: frontend, backend' });
      client.connect(`tcp://127.0.0.1:${frontendPort}`);
      await client.send('hello');
      for (const deadline = Date.now() + 5000; fatal.length === 0 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 10));
      expect(fatal.map((e) => e.message)).toEqual(['frontend receive loop failed: handler bug']);
      // A test's onFatal does not exit, so the liveness probe must say what the exit would.
      expect(server.health.liveness()).toEqual({ ok: false, why: 'frontend receive loop failed: handler bug' });
    } finally {
      client.close();
      server.close();
    }
  });

  describe('a queued request that a new worker takes at its ready', () => {
    /**
     * A client's request waits (no worker yet); then a TSR/1 worker announces itself, answering the
     * offers as `answer` says. Returns the frames of the first request it is sent, and what came before.
     */
    async function firstRequest(answer: (worker: Dealer, offer: string) => Promise<void>, heartbeatMs = 1000) {
      const [frontendPort, backendPort] = [await freePort(), await freePort()];
      const server = new BrokerServer(serverOptions(frontendPort, backendPort, heartbeatMs), createTracer('broker', 'silent'), () => {});
      const client = new Dealer({ linger: 0 });
      const worker = new Dealer({ linger: 0, routingId: 'W1' });
      try {
        await server.start();
        client.connect(`tcp://127.0.0.1:${frontendPort}`);
        const metadata = encodeMetadata({ 'timeout-ms': '5000', tenant: 'acme' });
        await client.send(clientRequestFrames('echo', Buffer.from('id-1'), Buffer.from('hi'), metadata));
        for (const deadline = Date.now() + 5000; server.core.pendingCount === 0 && Date.now() < deadline; ) await sleep(5);
        worker.connect(`tcp://127.0.0.1:${backendPort}`);
        await worker.send(workerControlFrames(readyBody(1, 'echo')));
        const controls: string[] = [];
        const started = Date.now();
        for (;;) {
          const frames = await worker.receive();
          if (frames[1].length > 0) return { frames, controls, ms: Date.now() - started };
          const body = frames[3].toString();
          controls.push(body);
          await answer(worker, body);
        }
      } finally {
        client.close();
        worker.close();
        server.close();
      }
    }

    it('goes to it with its metadata once it accepted the offer, after the offers, its time left counted down', async () => {
      const { frames, controls } = await firstRequest(async (worker, offer) => {
        if (offer === METADATA_OFFER.toString()) await worker.send(workerControlFrames(METADATA_OFFER));
      });
      expect(controls.slice(0, 2)).toEqual(['TSR/1 HB', 'TSR/1 META']); // metadata offered before batches
      expect(frames).toHaveLength(5);
      const headers = parseMetadata(frames[3]) as Record<string, string>;
      expect(headers.tenant).toBe('acme');
      expect(Number(headers['timeout-ms'])).toBeGreaterThan(3000);
      expect(Number(headers['timeout-ms'])).toBeLessThanOrEqual(5000);
      expect(frames[4].toString()).toBe('hi');
    });

    it('goes to a worker that predates metadata as before, once it accepted batches', async () => {
      const { frames } = await firstRequest(async (worker, offer) => {
        if (offer.startsWith('TSR/1 BATCH max=')) await worker.send(workerControlFrames(BATCH_ACCEPT));
      });
      // in a batch (it accepted them), a record of kind 0: no metadata
      expect(frames[0].toString()).toBe('TSR/1 REQS');
      expect((unpackBatch(frames[1]) as BatchRecord[]).map((r) => [r.body.toString(), r.metadata])).toEqual([['hi', undefined]]);
    });

    it('goes to a worker that answers no offer within a heartbeat interval', async () => {
      const { frames, ms } = await firstRequest(async () => {}, 200);
      expect([frames.length, frames[0]]).toEqual([4, EMPTY]);
      expect(ms).toBeLessThan(2000);
    });
  });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
