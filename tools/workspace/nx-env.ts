/**
 * The environment for a one-off `nx` command run by a test: no daemon left behind, no terminal UI,
 * no cloud, and Nx's plugins loaded in its own process rather than in a worker process each. The
 * graph is the same either way; in-process it takes 2 s a call instead of 5 on two cores.
 */
export const oneOffNxEnv = (): NodeJS.ProcessEnv => ({
  ...process.env,
  NX_DAEMON: 'false',
  NX_TUI: 'false',
  NX_NO_CLOUD: 'true',
  NX_ISOLATE_PLUGINS: 'false',
});
