import { echo } from './echo';

const info = { service: 'default', worker: 'W me' };

describe('echo', () => {
  it('answers "<request> <worker id>" at once without a delay', () => {
    expect(echo('W me', 0)(Buffer.from('C x'), info)).toEqual(Buffer.from('C x W me'));
  });

  it('answers after its delay', async () => {
    const started = performance.now();
    await expect(echo('W me', 80)(Buffer.from('hi'), info)).resolves.toEqual(Buffer.from('hi W me'));
    expect(performance.now() - started).toBeGreaterThanOrEqual(75);
  });
});
