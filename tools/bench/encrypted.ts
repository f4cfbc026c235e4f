/**
 * Encryption against encryption (`--encrypted`): our broker, its workers and the load with CURVE
 * on, against nats-server with TLS on every hop (its responders and the generator connecting with
 * TLS), each beside itself in the clear; with `--versus-apps` the other build with and without
 * CURVE too (before and after). Every requester on one connection: ours one socket, NATS one
 * shared connection; sizes up to 1 MiB, which both systems take only with a limit raised.
 */
import type { BenchOptions } from './options';
import { CURVE_OF, type StartOptions, type TargetKind } from './targets';

const MiB = 1024 * 1024;

/**
 * What the experiment loads, in the order of the first repetition: with the C forwarder (when it
 * could be built) libzmq's own CURVE, with and without, as the floor of any CURVE broker.
 */
export const encryptedKinds = (withOther: boolean, withC: boolean): TargetKind[] => [
  ...inTheClearAndCurve('broker'),
  'nats',
  'nats-tls',
  ...(withOther ? inTheClearAndCurve('broker-other') : []),
  ...(withC ? inTheClearAndCurve('forwarder-c') : []),
];
const inTheClearAndCurve = (plain: keyof typeof CURVE_OF): TargetKind[] => [plain, CURVE_OF[plain]];

/** The limits raised so that 1 MiB requests, all on one connection, go through both systems; everything else is their default. */
export const ENCRYPTED_LIMITS = {
  /**
   * nats-server's max_payload, plain and TLS alike: its default, 1 MiB, is the largest request,
   * and a reply is the request and the responder's id.
   */
  natsMaxPayload: 8 * MiB,
  /**
   * Our brokers' MAX_CLIENT_BYTES (the variable, which any build ignores that lacks it): what one
   * client may hold, by default a quarter of --max-queue-bytes (32 MiB), which 32 requests of 1 MiB
   * and the client's routing id exceed.
   */
  brokerMaxClientBytes: 64 * MiB,
};

/** Over this size a run warms up and measures longer: at 1 MiB a round trip of 32 requests takes up to a second, and 4 s of warm-up were needed for the pace. */
export const ENCRYPTED_LARGE = 64 * 1024;

/** The warm-up and the measured window of a run of `size` bytes. */
export const encryptedWindow = (o: BenchOptions, size: number): { warmupMs: number; durationMs: number } =>
  size > ENCRYPTED_LARGE
    ? { warmupMs: o.encryptedLargeWarmupMs, durationMs: o.encryptedLargeDurationMs }
    : { warmupMs: o.encryptedWarmupMs, durationMs: o.durationMs };

/** How the experiment's targets start: the workers' credit, the other build, the limits above. */
export const encryptedStartOptions = (credit: number, otherApps: string | undefined): StartOptions => ({
  credit,
  otherApps,
  env: { MAX_CLIENT_BYTES: String(ENCRYPTED_LIMITS.brokerMaxClientBytes) },
  natsMaxPayload: ENCRYPTED_LIMITS.natsMaxPayload,
});
