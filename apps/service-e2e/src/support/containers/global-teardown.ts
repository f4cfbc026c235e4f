import { removeLeftovers } from './engine';

/** After the container suites, pass or fail: no container, network or compose project of this run is left. */
export default async function globalTeardown(): Promise<void> {
  await removeLeftovers();
}
