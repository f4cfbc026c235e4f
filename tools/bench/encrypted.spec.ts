import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ENCRYPTED_LIMITS, encryptedKinds, encryptedStartOptions, encryptedWindow } from './encrypted';
import { natsComparisonSockets, plannedRuns } from './matrix';
import { natsConfigText, natsServerArgs } from './nats-config';
import { natsConnectOptions } from './nats-connection';
import { parseOptions } from './options';
import { redoLines } from './redo';

describe('parseOptions for the encrypted experiment', () => {
  it('defaults to 16 B to 1 MiB, 4 workers, 32 in flight, and writes to tmp unless --out', () => {
    const o = parseOptions(['--encrypted'], '2026-01-01', '/r');
    expect([o.encrypted, o.encryptedSizes, o.encryptedWorkers, o.encryptedInflight]).toEqual([true, [16, 1024, 65536, 1048576], 4, 32]);
    expect(o.out).toBe('/r/tmp/benchmarks/2026-01-01-encrypted');
    expect(parseOptions(['--encrypted', '--encrypted-sizes', '16,65536', '--reps', '2'], '2026-01-01', '/r').encryptedSizes).toEqual([
      16, 65536,
    ]);
  });

  it('warms up and measures longer over 64 KiB, where a round trip of the requests in flight takes up to a second', () => {
    const o = parseOptions(['--encrypted'], '2026-01-01', '/r');
    expect([encryptedWindow(o, 65536), encryptedWindow(o, 1048576)]).toEqual([
      { warmupMs: 2500, durationMs: 1000 },
      { warmupMs: 5000, durationMs: 4000 },
    ]);
    const quick = parseOptions(['--encrypted', '--quick', '--encrypted-large-duration', '3000'], '2026-01-01', '/r');
    expect([encryptedWindow(quick, 16), encryptedWindow(quick, 1048576)]).toEqual([
      { warmupMs: 1500, durationMs: 600 },
      { warmupMs: 3000, durationMs: 3000 },
    ]);
  });

  it('runs alone, and refuses what is no size, count or warm-up', () => {
    expect(() => parseOptions(['--encrypted', '--nats-only'], '2026-01-01', '/r')).toThrow('--encrypted runs alone');
    expect(() => parseOptions(['--encrypted', '--tracing'], '2026-01-01', '/r')).toThrow('--encrypted runs alone');
    expect(() => parseOptions(['--encrypted-sizes', '8'], '2026-01-01', '/r')).toThrow('at least 12 bytes');
    expect(() => parseOptions(['--encrypted-inflight', '0'], '2026-01-01', '/r')).toThrow(
      '--encrypted-inflight must be a positive integer',
    );
    expect(() => parseOptions(['--encrypted-warmup', 'soon'], '2026-01-01', '/r')).toThrow('--encrypted-warmup must be a whole number');
  });

  it('plans every target at every size in each repetition, the other build and the C forwarder with CURVE and without when there are', () => {
    expect(encryptedKinds(false, false)).toEqual(['broker', 'broker-curve', 'nats', 'nats-tls']);
    expect(encryptedKinds(true, false).slice(4)).toEqual(['broker-other', 'broker-other-curve']);
    expect(encryptedKinds(true, true).slice(6)).toEqual(['forwarder-c', 'forwarder-c-curve']);
    expect(encryptedKinds(false, true).slice(4)).toEqual(['forwarder-c', 'forwarder-c-curve']);
    expect(plannedRuns(parseOptions(['--encrypted', '--reps', '2'], '2026-01-01', '/r'), false, true)).toBe(2 * 4 * 4);
    expect(plannedRuns(parseOptions(['--encrypted', '--reps', '2'], '2026-01-01', '/r'), true, true)).toBe(2 * 4 * 6);
    expect(plannedRuns(parseOptions(['--encrypted', '--versus-apps', '/o'], '2026-01-01', '/r'), true, true)).toBe(3 * 4 * 8);
    expect(natsComparisonSockets('nats-tls', 32, 4)).toBe(1);
  });

  it('raises the limits 1 MiB needs: max_payload for both nats-servers, the client share for our brokers', () => {
    expect(encryptedStartOptions(16, '/o')).toEqual({
      credit: 16,
      otherApps: '/o',
      env: { MAX_CLIENT_BYTES: String(64 * 1024 * 1024) },
      natsMaxPayload: 8 * 1024 * 1024,
    });
    expect(ENCRYPTED_LIMITS.natsMaxPayload).toBeGreaterThan(1024 * 1024 + 64);
  });
});

describe('nats-server for a target', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nats-config-spec-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is started as it always was when nothing is asked: the command line, no file', () => {
    expect(natsServerArgs(4222, { tls: false }, dir)).toEqual({ args: ['-a', '127.0.0.1', '-p', '4222'] });
    expect(existsSync(join(dir, 'nats-server-4222.conf'))).toBe(false);
  });

  it('takes a config file for max_payload, and TLS in it with the certificate and key', () => {
    const { args, caFile } = natsServerArgs(4223, { tls: false, maxPayload: 8388608 }, dir);
    expect([args, caFile]).toEqual([['-c', join(dir, 'nats-server-4223.conf')], undefined]);
    expect(readFileSync(args[1], 'utf8')).toBe('listen: "127.0.0.1:4223"\nmax_payload: 8388608\n');
    expect(natsConfigText(4224, undefined, { certFile: '/d/cert.pem', keyFile: '/d/key.pem' })).toBe(
      'listen: "127.0.0.1:4224"\ntls {\n  cert_file: "/d/cert.pem"\n  key_file: "/d/key.pem"\n}\n',
    );
  });

  it('is reached plainly on 127.0.0.1, or with TLS on the certificate’s name, trusting it', () => {
    expect(natsConnectOptions(4222, undefined)).toEqual({ servers: '127.0.0.1:4222' });
    expect(natsConnectOptions(4222, '/d/cert.pem')).toEqual({ servers: 'localhost:4222', tls: { caFile: '/d/cert.pem' } });
  });
});

describe('the commands that redo a run', () => {
  const other = {
    name: 'The other build (--versus-apps)',
    dir: '/home/x/old/dist/apps',
    commit: 'abc1234',
    sha256: { broker: '111', worker: '222' },
    worktree: '/tmp/other-build',
    given: 'dist/apps',
  };

  it('rebuild the other build from its commit, then run the command on it', () => {
    expect(redoLines('npm run bench -- --encrypted --versus-apps /home/x/old/dist/apps', other, 'nats-server installed')).toEqual([
      'To redo it: nats-server installed.',
      '',
      'The other build (--versus-apps) is git abc1234, apps sha256 broker 111, worker 222; to build it again:',
      '',
      '```sh',
      'git worktree add --detach /tmp/other-build abc1234 && ln -s "$PWD/node_modules" /tmp/other-build/node_modules',
      '(cd /tmp/other-build && npx nx run-many -t build -p broker worker client)',
      'npm run bench -- --encrypted --versus-apps /tmp/other-build/dist/apps',
      '```',
      '',
    ]);
  });

  it('are the command alone, or nothing, without another build', () => {
    expect(redoLines('npm run bench -- --encrypted', undefined, 'openssl')).toEqual([
      'To redo it: openssl.',
      '',
      '```sh',
      'npm run bench -- --encrypted',
      '```',
      '',
    ]);
    expect(redoLines('npm run bench', undefined)).toEqual([]);
  });
});
