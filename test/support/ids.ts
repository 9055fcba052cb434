// Test helper: identifiers derived from a seed, so that a test can name the same one twice.

import { createHash } from 'node:crypto';

/** A 64-hex container id, as runtimes make them. */
export const cid = (seed: string): string => createHash('sha256').update(seed).digest('hex');
