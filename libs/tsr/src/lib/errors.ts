/** A configuration problem the user can fix; main programs print it on one line and exit 2. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}
