import { Request } from 'zeromq';
import { type Tracer, createTracer } from '@tsr/runtime';
import { freePort } from '@tsr/zmtp/testing';
import { defaultCoreOptions } from './broker-core-shapes';
import { BrokerServer } from './broker-server';

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
    const server = new BrokerServer(
      {
        ...defaultCoreOptions,
        frontendPort,
        backendPort,
        bindHost: '127.0.0.1',
        heartbeatMs: 1000,
        maxReplyBytes: 2 * 1024 * 1024,
        maxConnections: 100,
        zmtpHeartbeatMs: 1000,
      },
      throwing,
      (e) => fatal.push(e),
    );
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
});
