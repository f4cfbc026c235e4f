import { createServer } from 'node:net';

/**
 * A TCP port on loopback that the OS picked and that was free a moment ago: for tests and tools
 * that start programs on ports of their own (the programs themselves take theirs from options).
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
