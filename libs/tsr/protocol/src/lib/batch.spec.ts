import fc from 'fast-check';
import {
  type BatchRecord,
  MAX_BATCHED_BODY,
  MAX_BATCH_FRAME,
  batchOffer,
  batchable,
  packBatches,
  parseBatchOffer,
  recordBytes,
  toWorkerBatchFrames,
  unpackBatch,
  workerBatchFrames,
} from '..';

const b = (s: string) => Buffer.from(s);
const record = (ticket: string, body: string, failed = false): BatchRecord => ({ ticket: b(ticket), body: b(body), failed });
const plain = (records: BatchRecord[]) => records.map((r) => ({ ticket: [...r.ticket], body: [...r.body], failed: r.failed }));

describe('the batch frame', () => {
  it('lays each record out as docs/protocol.md says: kind, ticket length, ticket, body length (u32 BE), body', () => {
    const [frame] = packBatches([record('T1', 'hello'), record('T22', 'no', true)], Infinity);
    expect([...frame]).toEqual([0, 2, ...b('T1'), 0, 0, 0, 5, ...b('hello'), 1, 3, ...b('T22'), 0, 0, 0, 2, ...b('no')]);
    expect(plain(unpackBatch(frame) as BatchRecord[])).toEqual(plain([record('T1', 'hello'), record('T22', 'no', true)]));
  });

  const records = fc.array(
    fc
      .record({ ticket: fc.uint8Array({ maxLength: 255 }), body: fc.uint8Array({ maxLength: 3000 }), failed: fc.boolean() })
      .map((r) => ({ ticket: Buffer.from(r.ticket), body: Buffer.from(r.body), failed: r.failed })),
    { minLength: 1, maxLength: 40 },
  );

  it('gives back every record, in order, from frames that each stay within the limit', () => {
    fc.assert(
      fc.property(records, fc.integer({ min: 0, max: 20_000 }), (rs, slack) => {
        const limit = Math.max(...rs.map(recordBytes)) + slack;
        const frames = packBatches(rs, limit);
        expect(frames.every((f) => f.length <= limit)).toBe(true);
        expect(plain(frames.flatMap((f) => unpackBatch(f) as BatchRecord[]))).toEqual(plain(rs));
        // Greedy: two consecutive frames could not have been one.
        for (let i = 1; i < frames.length; i++)
          expect(frames[i - 1].length + frames[i].length).toBeGreaterThan(Math.min(limit, MAX_BATCH_FRAME));
      }),
    );
  });

  it('refuses a frame cut anywhere inside a record, and takes none of its records', () => {
    fc.assert(
      fc.property(records, fc.nat(), (rs, at) => {
        const [frame] = packBatches(rs, Infinity);
        const boundaries = new Set<number>();
        rs.reduce((offset, r) => (boundaries.add(offset + recordBytes(r)), offset + recordBytes(r)), 0);
        const cut = at % frame.length;
        const result = unpackBatch(frame.subarray(0, cut));
        if (cut === 0) expect(result).toBe('empty batch');
        else if (boundaries.has(cut)) expect(Array.isArray(result)).toBe(true);
        else expect(result).toMatch(/^batch record \d+ is truncated$/);
      }),
    );
  });

  it('refuses an unknown kind and an empty batch', () => {
    const [frame] = packBatches([record('T', 'x'), record('U', 'y')], Infinity);
    frame[recordBytes(record('T', 'x'))] = 7;
    expect(unpackBatch(frame)).toBe('batch record 2 has unknown kind 7');
    expect(unpackBatch(Buffer.alloc(0))).toBe('empty batch');
  });

  it('leaves large bodies and records beyond the limit to classic frames', () => {
    expect(batchable(record('T', 'x'.repeat(MAX_BATCHED_BODY)), Infinity)).toBe(true);
    expect(batchable(record('T', 'x'.repeat(MAX_BATCHED_BODY + 1)), Infinity)).toBe(false);
    expect(batchable(record('T', 'x'.repeat(93)), 100)).toBe(true); // 6 + 1 + 93
    expect(batchable(record('T', 'x'.repeat(94)), 100)).toBe(false);
    expect(batchable({ ticket: Buffer.alloc(256), body: b(''), failed: false }, Infinity)).toBe(false);
  });

  it('travels after its header, the routing id first on the broker side', () => {
    const frame = b('records');
    expect(toWorkerBatchFrames(b('W1'), frame).map(String)).toEqual(['W1', 'TSR/1 REQS', 'records']);
    expect(workerBatchFrames(frame).map(String)).toEqual(['TSR/1 REPS', 'records']);
  });
});

describe('the offer', () => {
  it('names the largest frame the broker accepts, and nothing else is an offer', () => {
    expect(batchOffer(1049576).toString()).toBe('TSR/1 BATCH max=1049576');
    expect(parseBatchOffer(batchOffer(1049576))).toBe(1049576);
    for (const bad of [
      'TSR/1 BATCH',
      'TSR/1 BATCH max=0',
      'TSR/1 BATCH max=-1',
      'TSR/1 BATCH max=12345678901',
      'TSR/1 BATCH max=1 x',
      'TSR/1 HB',
    ]) {
      expect(parseBatchOffer(b(bad))).toBeUndefined();
    }
  });
});
