/**
 * OCPP-J RPC errors. The error code names are spelled per protocol version (the 1.6 spec's
 * misspellings `FormationViolation` and `OccurenceConstraintViolation` are part of its wire format
 * and are kept on purpose); an OcppError carries a version-neutral kind and is spelled at the
 * moment it is written to the wire.
 */
export type OcppErrorKind =
  | 'NotImplemented'
  | 'NotSupported'
  | 'InternalError'
  | 'ProtocolError'
  | 'SecurityError'
  | 'FormatViolation'
  | 'PropertyConstraintViolation'
  | 'OccurrenceConstraintViolation'
  | 'TypeConstraintViolation'
  | 'GenericError'
  | 'RpcFrameworkError'
  | 'MessageTypeNotSupported';

export class OcppError extends Error {
  readonly kind: OcppErrorKind;
  readonly details: Record<string, unknown>;
  constructor(kind: OcppErrorKind, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'OcppError';
    this.kind = kind;
    this.details = details;
  }
}

/** The charge point answered our CALL with a CALLERROR (or, in 2.1, CALLRESULTERROR). */
export class OcppCallError extends Error {
  readonly errorCode: string;
  readonly details: unknown;
  constructor(errorCode: string, description: string, details: unknown) {
    super(description ? `${errorCode}: ${description}` : errorCode);
    this.name = 'OcppCallError';
    this.errorCode = errorCode;
    this.details = details;
  }
}

export class OcppTimeoutError extends Error {
  /** `waiting` says why it was never sent (it waited in the queue past its deadline). */
  constructor(action: string, timeoutMs: number, waiting?: string) {
    super(
      waiting === undefined
        ? `no answer to ${action} within ${timeoutMs / 1000} s`
        : `${action} not sent: its ${timeoutMs / 1000} s passed while ${waiting}`,
    );
    this.name = 'OcppTimeoutError';
  }
}

/** The session is closed or its outgoing queue is full; the CALL was not sent. */
export class OcppSessionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OcppSessionError';
  }
}
