import { existsSync } from 'node:fs';
import { type Socket as TcpSocket, connect } from 'node:net';
import { Router, curveKeyPair } from 'zeromq';
import { ClosedPeers, closedPeers, describePeers } from './closed-peers';

// Lines as Linux writes them (header, then `sl local remote state …`); port 9999 is 270F.
const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:270F 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 1 1 0000000000000000 100 0 0 10 0
   1: 0100007F:270F 0100007F:A104 06 00000000:00000000 03:00001751 00000000     0        0 0 3 0000000000000000
   2: 0500000A:270F 0700000A:138B 04 00000000:00000000 01:00000014 00000000     0        0 0 3 0000000000000000
   3: 0100007F:270F 0100007F:A112 01 00000000:00000000 00:00000000 00000000  1000        0 7 1 0000000000000000 20 4 30 10 -1
   4: 0100007F:1F40 0100007F:A113 06 00000000:00000000 03:00001751 00000000     0        0 0 3 0000000000000000
`;
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0000000000000000FFFF00000100007F:270F 0000000000000000FFFF00000200007F:C001 06 00000000:00000000 03:00001751 00000000     0        0 0 3 0000000000000000
   1: 00000000000000000000000001000000:270F 000080FE000000000000000002000200:C002 05 00000000:00000000 00:00000000 00000000     0        0 0 3 0000000000000000
`;

describe('closedPeers (the kernel table of a listening port)', () => {
  const peers = (table: string, port: number) => closedPeers(table, port).map((p) => p.peer);

  it('names the peers of connections this host closed first, on that port only', () => {
    // TIME_WAIT (06) and FIN_WAIT1 (04) count; the listener (0A), an open connection (01) and another port do not.
    expect(peers(TCP, 9999)).toEqual(['127.0.0.1:41220', '10.0.0.7:5003']);
    expect(peers(TCP, 8000)).toEqual(['127.0.0.1:41235']);
    expect(peers(TCP, 1)).toEqual([]);
  });

  it('dates a TIME_WAIT connection by what is left of its 60 s (in 10 ms ticks), and no other', () => {
    // 0x1751 ticks = 59.69 s left: closed 310 ms ago.
    expect(closedPeers(TCP, 9999)).toEqual([{ peer: '127.0.0.1:41220', closedAgoMs: 310 }, { peer: '10.0.0.7:5003' }]);
  });

  it('reads IPv6 tables, with IPv4 behind a mapped address written as IPv4', () => {
    expect(peers(TCP6, 9999)).toEqual(['127.0.0.2:49153', '[fe80::2:2]:49154']);
  });

  it('reads nothing from text that is not a table', () => {
    expect(peers('', 9999)).toEqual([]);
    expect(peers('no table here\n\n', 9999)).toEqual([]);
  });
});

/** A TIME_WAIT line for port 9999 from 127.0.0.2:`port`, closed `ago` ms before the table was read. */
const timeWait = (port: number, ago: number) =>
  `   9: 0100007F:270F 0200007F:${port.toString(16).toUpperCase().padStart(4, '0')} 06 00000000:00000000 03:${((60_000 - ago) / 10).toString(16).padStart(8, '0')} 00000000     0        0 0 3 0\n`;

describe('ClosedPeers', () => {
  it('names the peers closed since a moment, by the table\'s dates, each once', async () => {
    let table = TCP; // 127.0.0.1:41220 closed 310 ms before each read; 10.0.0.7:5003 undated
    let now = 100_000;
    const closed = new ClosedPeers(9999, async () => [table, ''], () => now);
    expect(await closed.since(now - 200)).toEqual(['10.0.0.7:5003']); // the undated one, when first seen
    expect(await closed.since(now - 400)).toEqual(['127.0.0.1:41220']);
    expect(await closed.since(0)).toEqual([]);
    now += 1000;
    table += timeWait(41472, 50) + timeWait(41473, 700);
    expect(await closed.since(now - 100)).toEqual(['127.0.0.2:41472']);
  });

  it('forgets a peer named once it leaves the table, so the same address and port closed again is news', async () => {
    let table = timeWait(41472, 0);
    const closed = new ClosedPeers(9999, async () => [table], () => 1_000_000);
    expect(await closed.since(0)).toEqual(['127.0.0.2:41472']);
    table = '';
    expect(await closed.since(0)).toEqual([]);
    table = timeWait(41472, 0);
    expect(await closed.since(0)).toEqual(['127.0.0.2:41472']);
  });

  it('does not take a close for older than it is when the table is read late (a busy threadpool)', async () => {
    let now = 100_000;
    const asked = now;
    const closed = new ClosedPeers(9999, async () => {
      now += 500; // the read is served half a second after it was asked for; the table is as of then
      return [timeWait(41472, 100)]; // closed 400 ms after it was asked for
    }, () => now);
    expect(await closed.since(asked)).toEqual(['127.0.0.2:41472']);
  });

  it('has nothing to say where there is no table (not Linux)', async () => {
    expect(await new ClosedPeers(9999, async () => ['', '']).since(0)).toEqual([]);
  });
});

describe('describePeers', () => {
  it('names a few peers each with its port, many by address with their count, the most frequent first', () => {
    expect(describePeers(['10.0.0.5:41220'])).toBe('10.0.0.5:41220');
    expect(describePeers(['10.0.0.5:1', '[fe80::1]:7'])).toBe('10.0.0.5:1, [fe80::1]:7');
    expect(describePeers(['10.0.0.7:1', '10.0.0.5:1', '10.0.0.5:2', '10.0.0.5:3'], 3)).toBe('10.0.0.5 (3 connections), 10.0.0.7 (1 connection)');
    expect(describePeers(['a:1', 'b:1', 'c:1', 'c:2'], 2)).toBe('c (2 connections), a (1 connection) and 1 more address(es)');
  });
});

/** A TCP peer written by hand that greets as ZMTP 3.0 with the NULL mechanism, as a peer without CURVE does. */
function nullGreeter(port: number): Promise<TcpSocket> {
  const greeting = Buffer.alloc(64);
  greeting[0] = 0xff;
  greeting[9] = 0x7f;
  greeting[10] = 3; // version 3.0
  greeting.write('NULL', 12, 'latin1');
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(greeting);
      resolve(socket);
    });
    socket.on('error', reject);
  });
}

const linux = existsSync('/proc/net/tcp');

(linux ? describe : describe.skip)('ClosedPeers on a real CURVE socket (Linux)', () => {
  it('names the very peer libzmq hung up on for not speaking CURVE', async () => {
    const server = new Router({ linger: 0, curveServer: true, curveSecretKey: curveKeyPair().secretKey });
    await server.bind('tcp://127.0.0.1:*');
    const port = Number(server.lastEndpoint?.split(':').pop());
    const closed = new ClosedPeers(port);
    const before = Date.now();
    const peer = await nullGreeter(port);
    const ours = `127.0.0.1:${peer.localPort}`;
    try {
      await new Promise<void>((resolve) => peer.once('close', () => resolve()).resume()); // libzmq hangs up
      expect(await closed.since(before)).toEqual([ours]);
      expect(await closed.since(before)).toEqual([]); // named once
    } finally {
      peer.destroy();
      server.close();
    }
  });
});
