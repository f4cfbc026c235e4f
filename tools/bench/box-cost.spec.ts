import { BOXES_PER_REQUEST, boundedSizes, boxesBound, measureBoxCost } from './box-cost';

describe("CURVE's boxes, what they cost here", () => {
  it('measures one box at each size through the boxes our sockets use, dearer for larger frames', async () => {
    const cost = await measureBoxCost([16, 65536], 3, 10_000);
    expect(cost.boxes).toMatch(/libsodium/);
    expect(Object.keys(cost.usPerBox)).toEqual(['16', '65536']);
    expect(cost.usPerBox[16]).toBeGreaterThan(0);
    // 4096 times the bytes: more than twice the time, whatever the fixed cost of a call.
    expect(cost.usPerBox[65536]).toBeGreaterThan(2 * cost.usPerBox[16]);
  });

  it('bounds CURVE / plain by the CPU the boxes add to a plain request, for requests too large for a batch', () => {
    expect(boundedSizes([16, 1024, 16 * 1024, 16 * 1024 + 1, 65536, 1048576])).toEqual([16 * 1024 + 1, 65536, 1048576]);
    expect(BOXES_PER_REQUEST).toBe(8);
    expect(boxesBound(100, 0)).toBe(1);
    expect(boxesBound(600, 40)).toBeCloseTo(600 / 920);
    expect(boxesBound(534, 45)).toBeLessThan(0.7); // 64 KiB on this machine: under the target
  });
});
