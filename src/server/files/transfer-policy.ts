// The policy's rules for file transfers, checked before the file system is touched:
// `files: false` forbids them, and a put's size must fit `limits.maxFileBytes` and the
// per-process file size limit (`limits.fileSizeBytes`, which a command's `cat >` would
// hit too). `filesDir` is checked with the path (target.ts). A refusal names its rule.
import { RexecError } from '../../errors.js';
import type { GetRequest, PutRequest } from '../../protocol/messages.js';
import type { UserPolicy } from '../policy/user-policy.js';

/** Throws DENIED when the policy forbids this transfer. */
export function checkTransferPolicy(request: PutRequest | GetRequest, policy: UserPolicy): void {
  const { id } = request;
  if (!policy.files) {
    throw new RexecError('DENIED', 'file transfers are not allowed here (rule: files)', { id, rule: 'files' });
  }
  // Stryker disable next-line ConditionalExpression: a get has no size, and `undefined > n` is false.
  if (request.type !== 'put') return;
  // No limit set: no size is over it.
  const cap = policy.maxFileBytes ?? Infinity;
  if (request.size > cap) {
    throw new RexecError(
      'DENIED',
      `a file of ${request.size} bytes is over the ${cap} allowed (rule: limits.maxFileBytes)`,
      { id, rule: 'limits.maxFileBytes' },
    );
  }
  const fsize = policy.rlimits.fileSizeBytes ?? Infinity;
  if (request.size > fsize) {
    throw new RexecError(
      'DENIED',
      `a file of ${request.size} bytes is over the ${fsize} allowed (rule: limits.fileSizeBytes)`,
      { id, rule: 'limits.fileSizeBytes' },
    );
  }
}
