import { removeLeftovers } from './docker';

/** After the container suites, pass or fail: no container, network or compose project of this run is left. */
export default async function globalTeardown(): Promise<void> {
  await removeLeftovers();
}
