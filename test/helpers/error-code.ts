import { GatewayError } from '../../src/errors.ts';

/** The code of the GatewayError `fn` throws, or undefined if it returns; anything else is rethrown. */
export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof GatewayError) return err.code;
    throw err;
  }
  return undefined;
}
