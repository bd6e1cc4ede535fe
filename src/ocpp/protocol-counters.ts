/**
 * The OCPP-J protocol counters every session of one server adds to: one set, read by the log's
 * stats line, /metrics, the status page and ThingsBoard statistics alike.
 */
export interface ProtocolCounters {
  callsIn: number;
  callErrorsOut: number;
  /** Frames that could not be parsed as OCPP-J at all (not JSON, wrong shape, unknown type). */
  badFrames: number;
  callsOut: number;
  callTimeouts: number;
  /** OCPP 2.1 CALLRESULTERRORs received: a charge point could not process one of our CALLRESULTs. */
  callResultErrorsIn: number;
  /** Exceptions while handling a frame: answered or dropped, counted and logged, never fatal. */
  handlerErrors: number;
  /** Times reading from a charge point was paused because it did not read its answers. */
  readPauses: number;
  /** Connections closed because the charge point did not read what it was sent. */
  slowReadersClosed: number;
  /** CALLERRORs received in answer to our CALLs. */
  callErrorsIn: number;
  /** OCPP 2.1 SENDs received. */
  sendsIn: number;
  /** Bytes of the text frames received (statistics: connectorBytesReceived). */
  bytesIn: number;
}

export function newProtocolCounters(): ProtocolCounters {
  return {
    callsIn: 0,
    callErrorsOut: 0,
    badFrames: 0,
    callsOut: 0,
    callTimeouts: 0,
    callResultErrorsIn: 0,
    handlerErrors: 0,
    readPauses: 0,
    slowReadersClosed: 0,
    callErrorsIn: 0,
    sendsIn: 0,
    bytesIn: 0,
  };
}
