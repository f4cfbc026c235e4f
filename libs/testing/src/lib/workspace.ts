import { join } from 'node:path';

/** The repository root (this file is libs/testing/src/lib/workspace.ts). */
export const workspaceRoot = join(__dirname, '..', '..', '..', '..');
