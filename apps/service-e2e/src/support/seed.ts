import { join } from 'node:path';
import { type AppProcess, spawnScript } from '@tsr/testing';

/** Runs one of the seed-style programs in process/seed (plain REQ sockets, zeromq's v5 API). */
export const spawnSeed = (program: 'broker' | 'workerReq' | 'cliente', args: string[], env: NodeJS.ProcessEnv = {}): AppProcess =>
  spawnScript(`seed ${program}`, join(__dirname, '..', 'process', 'seed', `${program}.js`), args, env);
