import { dispatches, readies, redispatched, replies, workerOf } from './broker-trace';

// Reading the broker's trace as the cluster suites do: steps and their fields, by name.

const log = [
  '[broker] backend_message: worker="W 0123456789ab-1-000000" kind="ready"',
  '[broker] frontend_message: client="C c1-1-000000/0" request="C c1 #1"',
  '[broker] new_task: worker="W 0123456789ab-1-000000" client="C c1-1-000000/0" request="C c1 #1"',
  '[broker] new_task: worker="W ba9876543210-1-000000" client="C c1-1-000000/0" ticket=7 request="C c1 #1"',
  '[broker] reply: client="C c1-1-000000/0" reply="C c1 #1 W ba9876543210-1-000000"',
  '[worker] unrelated line',
].map((line, i) => ({ at: 1000 + i, line }));

describe('broker trace', () => {
  it('reads dispatches, readies and replies, with fields in any order or added', () => {
    expect(dispatches(log).map((d) => [d.at, d.worker, d.request])).toEqual([
      [1002, 'W 0123456789ab-1-000000', 'C c1 #1'],
      [1003, 'W ba9876543210-1-000000', 'C c1 #1'],
    ]);
    expect(readies(log)).toEqual([{ at: 1000, worker: 'W 0123456789ab-1-000000' }]);
    expect(replies(log)).toEqual([{ at: 1004, client: 'C c1-1-000000/0', reply: 'C c1 #1 W ba9876543210-1-000000' }]);
  });

  it('counts a request dispatched to a second worker as a re-dispatch', () => {
    expect(redispatched(log)).toBe(1);
    expect(redispatched(log.slice(0, 3))).toBe(0);
  });

  it("tells a container's worker by its host name", () => {
    expect(workerOf('0123456789abcdef')('W 0123456789ab-1-000000')).toBe(true);
    expect(workerOf('ba9876543210ffff')('W 0123456789ab-1-000000')).toBe(false);
  });
});
