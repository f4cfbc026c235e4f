import { type Server, type Socket, createConnection, createServer } from 'node:net';

/**
 * A TCP relay on loopback that records every byte it passes, both ways: what anybody on the
 * network path between two peers could read.
 */
export class TcpRelay {
  private readonly chunks: Buffer[] = [];
  private readonly sockets = new Set<Socket>();
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<TcpRelay> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const relay = new TcpRelay(server, (server.address() as { port: number }).port);
    server.on('connection', (inbound) => {
      const outbound = createConnection(targetPort, '127.0.0.1');
      for (const [from, to] of [
        [inbound, outbound],
        [outbound, inbound],
      ]) {
        relay.sockets.add(from);
        from.on('data', (d: Buffer) => (relay.chunks.push(d), to.write(d)));
        from.on('error', () => to.destroy());
        from.on('close', () => (relay.sockets.delete(from), to.destroy()));
      }
    });
    return relay;
  }

  /** Everything relayed so far, as bytes. */
  get bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
