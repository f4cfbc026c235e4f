import { createServer } from 'node:net';

// The sockets' test support has it: the programs' specs use it from there without depending on
// this library (which keeps `nx affected` exact: test support changes never touch an image).
export { freePort } from '@tsr/zmtp/testing';

/** True when something accepts TCP connections on the port (the broker binds its sockets). */
export function isListening(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(true));
    server.listen(port, host, () => server.close(() => resolve(false)));
  });
}
