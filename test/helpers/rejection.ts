// Awaits a promise that must reject with a RexecError, and returns that error.
import { expect } from 'vitest';
import { RexecError } from '../../src/errors.js';

export async function rejection(promise: Promise<unknown>): Promise<RexecError> {
  const error = await promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(RexecError);
  return error as RexecError;
}
