import { ROOT_CONTEXT } from '@opentelemetry/api';
import type { RequestInfo } from '@tsr-broker/worker';
import { echo } from './echo';

const infoWith = (signal: AbortSignal): RequestInfo => ({ service: 'default', worker: 'W me', headers: {}, signal, context: ROOT_CONTEXT });
const info = infoWith(new AbortController().signal);

describe('echo', () => {
  it('answers "<request> <worker id>" at once without a delay', () => {
    expect(echo('W me', 0)(Buffer.from('C x'), info)).toEqual(Buffer.from('C x W me'));
  });

  it('answers after its delay', async () => {
    const started = performance.now();
    await expect(echo('W me', 80)(Buffer.from('hi'), info)).resolves.toEqual(Buffer.from('hi W me'));
    expect(performance.now() - started).toBeGreaterThanOrEqual(75);
  });

  it("stops waiting when the request's signal fires, failing with its reason", async () => {
    const started = performance.now();
    await expect(echo('W me', 10_000)(Buffer.from('hi'), infoWith(AbortSignal.timeout(50)))).rejects.toMatchObject({
      name: 'TimeoutError',
    });
    expect(performance.now() - started).toBeLessThan(5000);
    const aborted = AbortSignal.abort(new DOMException('the worker is closing', 'AbortError'));
    await expect(echo('W me', 10_000)(Buffer.from('hi'), infoWith(aborted))).rejects.toMatchObject({ name: 'AbortError' });
  });
});
