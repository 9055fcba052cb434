// The body of a BcryptPool worker thread: answers {id, password, hash} with {id, ok}.
//
// compareSync, not compare: one check at a time per worker, so the pool's count of checks in
// flight is the CPU it uses, and a check never waits behind chunks of another. bcryptjs compares
// the computed hash in constant time.

import { parentPort } from 'node:worker_threads';
import bcrypt from 'bcryptjs';

export interface BcryptRequest {
  id: number;
  password: string;
  hash: string;
}
export interface BcryptReply {
  id: number;
  ok: boolean;
}

if (!parentPort) throw new Error('bcryptWorker.js runs as a worker thread of BcryptPool');
const port = parentPort;
port.on('message', ({ id, password, hash }: BcryptRequest) => {
  let ok = false;
  try {
    ok = bcrypt.compareSync(password, hash);
  } catch {
    // A malformed hash (load-time validation makes this unlikely) is a mismatch, not a crash.
  }
  port.postMessage({ id, ok } satisfies BcryptReply);
});
