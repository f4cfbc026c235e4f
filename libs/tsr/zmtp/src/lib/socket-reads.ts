import { Socket, type SocketConstructorOpts, type TcpSocketConnectOpts } from 'node:net';

/**
 * Where our sockets read into. Left to itself, Node reads a socket into a fresh 64 KiB Buffer each
 * time, which the garbage collector must then take back: V8 counts these as external memory and
 * answers with a whole-heap collection every 64 MiB of them, sixteen Buffers per MiB received
 * (docs/benchmarks/2026-12-07/encrypted). With `onread`, every socket of ours reads into one
 * scratch buffer instead, shared by all: Node hands reads to JavaScript one at a time, and the
 * frame reader copies out what it keeps before the callback returns.
 */
export const SCRATCH_BYTES = 64 * 1024;
const scratch = Buffer.allocUnsafeSlow(SCRATCH_BYTES);

/** A socket's reads, for a reader named once the socket exists (what comes before waits in the kernel). */
export class SocketReads {
  private reader: ((chunk: Buffer) => void) | undefined;

  /** Node's `onread`: the memory each read goes to, and the read, valid only until the callback returns. */
  readonly onread = {
    buffer: scratch,
    callback: (bytes: number): boolean => {
      this.reader?.(scratch.subarray(0, bytes));
      return true;
    },
  };

  attach(reader: (chunk: Buffer) => void): void {
    this.reader = reader;
  }
}

/** A TCP connection to `to` whose reads go through `reads`. */
export const connectReading = (to: TcpSocketConnectOpts, reads: SocketReads): Socket => new Socket({ onread: reads.onread }).connect(to);

/**
 * An accepted connection, read through `reads`. Node's server has no `onread`, so a socket that
 * has one takes over the connection's handle (accepted with `pauseOnConnect`: nothing was read
 * before). Undefined where there is no handle to take (another runtime): read it as it is.
 */
export function adoptReading(accepted: Socket, reads: SocketReads): Socket | undefined {
  const holder = accepted as unknown as { _handle?: { useUserBuffer?: unknown } | null };
  const handle = holder._handle;
  if (!handle || typeof handle.useUserBuffer !== 'function') return undefined;
  const options = { handle, readable: true, writable: true, onread: reads.onread };
  const socket = new Socket(options as unknown as SocketConstructorOpts);
  // The server's own socket lets go of the handle and ends: the server counts the connection closed.
  holder._handle = null;
  accepted.destroy();
  return socket;
}
