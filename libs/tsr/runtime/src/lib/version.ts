/** The release the programs report (`/status`); version.spec.ts keeps it equal to package.json's. */
export const VERSION = '1.0.0';
