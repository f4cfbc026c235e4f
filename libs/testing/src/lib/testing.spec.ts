import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { freePort, isListening } from './ports';
import { escapeRegExp } from './regexp';

describe('ports', () => {
  it('freePort gives a port that can be bound at once, and isListening tells', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    expect(await isListening(port)).toBe(false);
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    try {
      expect(await isListening(port)).toBe(true);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('ports handed out', () => {
  it('lie below the ephemeral range, where connections take their local ports, and are never handed out twice', async () => {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    const ports = await Promise.all(Array.from({ length: 200 }, () => freePort()));
    expect(ports.every((p) => p >= 1024 && p < low)).toBe(true);
    expect(new Set(ports).size).toBe(ports.length);
  });
});

describe('escapeRegExp', () => {
  it.each(['W host.local-1-a1b2c3', 'a+b*c?', '(x)[y]{z}', 'C ^$|\\ end'])('matches %j literally and nothing else', (text) => {
    const re = new RegExp(`^${escapeRegExp(text)}$`);
    expect(re.test(text)).toBe(true);
    expect(re.test(text.replace(/./, 'Q') + 'x')).toBe(false);
  });
});
