import { docker, image, removeLeftovers, run } from './engine';

/**
 * Before the container suites: the engine answers, the images exist (built by the `image`
 * targets this target depends on), and what a killed earlier run left behind is removed.
 */
export default async function globalSetup(): Promise<void> {
  process.env['TESTCONTAINERS_RYUK_DISABLED'] = 'true';
  process.env['TSR_E2E_OWNER'] = String(process.pid); // the test files label what they create with it
  const info = await run('docker', ['info', '--format', '{{.ServerVersion}}']);
  if (info.code !== 0) throw new Error(`the Docker engine does not answer (docker info): ${info.stderr.trim()}`);
  for (const app of ['broker', 'worker', 'client'] as const) {
    try {
      await docker('image', 'inspect', '--format', '{{.Id}}', image(app));
    } catch {
      throw new Error(`image ${image(app)} is missing: run \`npx nx run ${app}:image\` (nx run service-e2e:container-test builds it)`);
    }
  }
  await removeLeftovers();
}
