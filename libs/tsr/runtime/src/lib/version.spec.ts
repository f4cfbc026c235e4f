import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VERSION } from './version';

describe('VERSION', () => {
  it('is the release in the root package.json (the images are tagged with it too)', () => {
    const root = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', '..', '..', 'package.json'), 'utf8')) as { version: string };
    expect(VERSION).toBe(root.version);
  });
});
