import { Health } from './health';

describe('Health', () => {
  it('is live while every watched receive loop runs', () => {
    const health = new Health();
    const fatal: Error[] = [];
    health.watch('frontend', (e) => fatal.push(e));
    health.watch('backend', (e) => fatal.push(e));
    expect(health.liveness()).toEqual({ ok: true, why: 'receive loops alive: frontend, backend' });
  });

  it('turns red when a loop fails, records it before the fatal handler runs, and green when it restarts', () => {
    const health = new Health();
    const seen: boolean[] = [];
    const fatal = health.watch('broker', () => seen.push(health.liveness().ok));
    fatal(new Error('broker receive loop failed: boom'));
    expect(seen).toEqual([false]);
    expect(health.liveness()).toEqual({ ok: false, why: 'broker receive loop failed: boom' });
    health.loopStarted('broker'); // a worker's new connection runs a new loop
    expect(health.liveness().ok).toBe(true);
  });

  it('turns red when the event loop has not run its timer for longer than the stall limit', () => {
    jest.useFakeTimers();
    try {
      let now = 0;
      const health = new Health(5000, 500, () => now);
      health.start();
      now = 400;
      jest.advanceTimersByTime(500); // the ticker runs: no stall
      now = 5300;
      expect(health.liveness().ok).toBe(true);
      now = 5500; // the timer has not run for 5100 ms
      expect(health.liveness()).toEqual({ ok: false, why: 'event loop stalled for 5100 ms' });
      health.stop();
    } finally {
      jest.useRealTimers();
    }
  });
});
