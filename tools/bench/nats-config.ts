/**
 * How the benchmark starts a nats-server: plain from the command line, as the comparison with
 * NATS always has (`-a 127.0.0.1 -p PORT`), or from a config file when it needs what the command
 * line cannot say: `max_payload` raised (its default is 1 MiB, and the reply to a 1 MiB request is
 * the request and the responder's id) and TLS with a self-signed certificate made for the run.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** nats-server's own limit on a message's payload when its config says nothing. */
export const NATS_DEFAULT_MAX_PAYLOAD = 1024 * 1024;

/** What nats-server prints when every client connection must be TLS: the run waits for it, as proof. */
export const NATS_TLS_REQUIRED = /TLS required for client connections/;

export interface NatsServerSetup {
  tls: boolean;
  /** Bytes; undefined: nats-server's default. */
  maxPayload?: number;
}

export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

/** A certificate for `localhost` and 127.0.0.1 (P-256, one day), made once in `dir`: the server's, and the CA its clients trust. */
export function selfSignedCertificate(dir: string): TlsFiles {
  const files = { certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem') };
  if (existsSync(files.certFile) && existsSync(files.keyFile)) return files;
  mkdirSync(dir, { recursive: true });
  const subject = ['-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'];
  const args = ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', ...subject];
  try {
    execFileSync('openssl', [...args, '-keyout', files.keyFile, '-out', files.certFile], { stdio: 'pipe' });
  } catch (e) {
    throw new Error(`openssl could not make the NATS server's certificate (Debian: apt-get install openssl): ${(e as Error).message}`);
  }
  return files;
}

/** nats-server's config (its format takes JSON strings) for a server on 127.0.0.1:`port`. */
export function natsConfigText(port: number, maxPayload: number | undefined, tls: TlsFiles | undefined): string {
  return [
    `listen: ${JSON.stringify(`127.0.0.1:${port}`)}`,
    ...(maxPayload === undefined ? [] : [`max_payload: ${maxPayload}`]),
    ...(tls ? ['tls {', `  cert_file: ${JSON.stringify(tls.certFile)}`, `  key_file: ${JSON.stringify(tls.keyFile)}`, '}'] : []),
    '',
  ].join('\n');
}

/**
 * nats-server's arguments for a server on `port`: the plain command line when nothing is asked,
 * else a config file in `dir` (the certificate there too, made once); `caFile` is what its clients
 * trust when TLS is on.
 */
export function natsServerArgs(port: number, setup: NatsServerSetup, dir: string): { args: string[]; caFile?: string } {
  if (!setup.tls && setup.maxPayload === undefined) return { args: ['-a', '127.0.0.1', '-p', String(port)] };
  const tls = setup.tls ? selfSignedCertificate(dir) : undefined;
  const config = join(dir, `nats-server-${port}.conf`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(config, natsConfigText(port, setup.maxPayload, tls));
  return { args: ['-c', config], caFile: tls?.certFile };
}
