/** What went wrong with a file: its errno code (`ENOENT`), else the message. */
export const errorCode = (e: unknown): string => (e as NodeJS.ErrnoException).code ?? (e as Error).message;

/** A configuration problem the user can fix; main programs print it on one line and exit 2. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}
