/**
 * Why the broker refused the gateway's CONNECT, in words an operator can act on. mqtt.js reports
 * the CONNACK return code as a bare number (`5`); the ones about credentials point at the setting
 * to check, never at its value.
 */
const CHECK_SECURITY = 'check thingsboard.security (access token, or username and password)';

/** MQTT 3.1.1 §3.2.2.3 return codes and MQTT 5 §3.2.2.2 reason codes. */
const REFUSALS = new Map<number, string>([
  [1, 'the broker does not accept MQTT 3.1.1'],
  [2, 'client id rejected: check thingsboard.security.clientId'],
  [3, 'the broker is unavailable'],
  [4, `bad username or password: ${CHECK_SECURITY}`],
  [5, `not authorized: ${CHECK_SECURITY}`],
  [0x84, 'the broker does not accept this MQTT version'],
  [0x85, 'client id rejected: check thingsboard.security.clientId'],
  [0x86, `bad username or password: ${CHECK_SECURITY}`],
  [0x87, `not authorized: ${CHECK_SECURITY}`],
  [0x88, 'the broker is unavailable'],
  [0x89, 'the broker is busy'],
  [0x8a, 'banned by the broker'],
  [0x8c, `bad authentication method: ${CHECK_SECURITY}`],
]);

export function connectRefusal(code: number, message?: string): string {
  return REFUSALS.get(code) ?? `refused by the broker (code ${code}${message ? `: ${message}` : ''})`;
}
