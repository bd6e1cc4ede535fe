import { ErrorCodes, GatewayError } from '../errors.js';

/** Using an outbox that is not open is a wiring mistake in the composition root, not a disk problem. */
export function stoppedError(state: 'not open' | 'closed'): GatewayError {
  return new GatewayError(ErrorCodes.OUTBOX_STOPPED, `the outbox is ${state}`);
}
