// Loaded before each container suite (jest `setupFiles`). Testcontainers' reaper (Ryuk) is an
// image pulled from a registry, which these machines cannot reach: it is disabled, and the suites
// remove what they create themselves (afterAll per suite, global setup/teardown as a safety net).
process.env['TESTCONTAINERS_RYUK_DISABLED'] = 'true';
// Inside a container (this machine has /.dockerenv) Testcontainers would start a helper container
// from a registry image to find the Docker host; the engine is local, so say so and pull nothing.
process.env['TESTCONTAINERS_HOST_OVERRIDE'] ??= 'localhost';
