import { Router } from 'zeromq';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { bindAnyLoopbackPort } from '@tsr/runtime';
import { Client } from './client';

setFlagsFromString('--expose-gc');
const fullGc = runInNewContext('gc') as () => void;
const oldSpaceUsed = () => getHeapSpaceStatistics().find((s) => s.space_name === 'old_space')?.space_used_size ?? 0;

/**
 * A client must leave what dies young to the scavenger even after a full GC has promoted its live
 * tables (V8's memory reducer runs one on a process that idles). A Map with a new key per request
 * did not: its discarded tables kept each other, and every request in them, alive until the next
 * full GC, which promoted the live table again.
 */
describe('Client garbage', () => {
  it('promotes next to nothing serving 40,000 requests at 32 in flight after a full GC', async () => {
    const router = new Router({ linger: 0 });
    const port = await bindAnyLoopbackPort(router);
    void (async () => {
      for await (const [client, , , , id, ...rest] of router) await router.send([client, '', 'TSR/1 REP', id, rest[rest.length - 1]]);
    })().catch(() => undefined);
    const client = new Client({ broker: `127.0.0.1:${port}`, timeout: 5000 });
    try {
      const body = Buffer.from('sixteen bytes!!!');
      const serve = async (requests: number) => {
        let left = requests;
        await Promise.all(
          Array.from({ length: 32 }, async () => {
            while (left-- > 0) await client.request('echo', body);
          }),
        );
      };
      await serve(2_000);
      fullGc();
      const before = oldSpaceUsed();
      await serve(40_000);
      const promoted = oldSpaceUsed() - before;
      // With a Map of pending requests: 37 MB promoted here; with the slot table, 0.2 MB.
      expect(promoted).toBeLessThan(8 * 2 ** 20);
    } finally {
      client.close();
      router.close();
    }
  }, 60_000);
});
