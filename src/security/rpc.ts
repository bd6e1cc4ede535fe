/**
 * The security RPCs ThingsBoard may send to a charge point's device (reserved method names, like
 * `get` and `set`):
 * - `rotatePassword` `{"reveal"?: true}`: generates a strong password, sets it on the station
 *   (2.x SetVariables SecurityCtrlr.BasicAuthPassword, 1.6 ChangeConfiguration AuthorizationKey)
 *   and stores it — in one step. The password is never logged nor returned, unless `reveal`.
 * - `resetSecurityProfile` `{}`: forgets the highest security profile recorded for the station, so
 *   it may connect with a lower one again (the operator's decision, never OCPP's: A00.FR.005).
 *   Works while the station is offline — it may be the reason it is.
 * - `installCaCertificate` `{"certificateType"?, "source"?: "signingCa" | "ca"}`: sends the CA
 *   certificate the gateway is configured with to the station with InstallCertificate (M05).
 */
import { X509Certificate } from 'node:crypto';
import type { OcppConnectorConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import type { ChargePointSession } from '../ocpp/session.js';
import type { SecurityCounters } from './counters.js';
import { certificatesOf } from './key-pairs.js';
import { generatePassword } from './passwords.js';
import { outcomeOf, passwordWriteStatus } from './password-rotation.js';
import type { SecurityState } from './state.js';

export type SecurityRpcReply = { result: Record<string, unknown> } | { error: string };

export const SECURITY_RPC_METHODS: ReadonlySet<string> = new Set([
  'rotatePassword',
  'resetSecurityProfile',
  'installCaCertificate',
]);

export interface SecurityRpcOptions {
  config: OcppConnectorConfig;
  state: SecurityState;
  /** False when the connector checks no Basic passwords (a rotated one would mean nothing). */
  checksPasswords: boolean;
  logger: Logger;
  timeoutMs: number;
  counters?: Pick<SecurityCounters, 'passwordRotations'>;
  /** Marks the payload of a CALL carrying a password generated here (PasswordRotation stores it so). */
  markGenerated?(payload: object): void;
}

export interface RpcTarget {
  chargePointId: string;
  /** The live connection, if any. */
  session: ChargePointSession | undefined;
  /**
   * Sends a CALL to the live station the way every RPC's CALL goes: past the Central System
   * features' vetoes first (registration: a Rejected station is sent nothing, OCPP 2.0.1
   * B03.FR.03; a Pending one its configuration, B02.FR.01, A01.FR.05, 1.6 A00.FR.806). Default:
   * the session directly.
   */
  call?(action: string, payload: unknown, timeoutMs: number): Promise<unknown>;
}

const paramsOf = (params: unknown): Record<string, unknown> =>
  typeof params === 'object' && params !== null && !Array.isArray(params)
    ? (params as Record<string, unknown>)
    : {};

/** The root of a CA file: its first self-signed certificate, else its last one. */
function rootOf(pem: Buffer): X509Certificate | undefined {
  const certs = certificatesOf(pem);
  return certs.find((c) => c.issuer === c.subject && c.checkIssued(c)) ?? certs[certs.length - 1];
}

export class SecurityRpc {
  private readonly opts: SecurityRpcOptions;

  constructor(opts: SecurityRpcOptions) {
    this.opts = opts;
  }

  async handle(method: string, params: unknown, target: RpcTarget): Promise<SecurityRpcReply> {
    switch (method) {
      case 'resetSecurityProfile':
        return this.resetSecurityProfile(target.chargePointId);
      case 'rotatePassword':
      case 'installCaCertificate': {
        const session = target.session;
        if (!session) return { error: `charge point ${target.chargePointId} is not connected` };
        const call =
          target.call ??
          ((action: string, payload: unknown, timeoutMs: number) => session.call(action, payload, timeoutMs));
        return method === 'rotatePassword'
          ? this.rotatePassword(session, call, paramsOf(params))
          : this.installCaCertificate(session, call, paramsOf(params));
      }
      default:
        return { error: `unknown security method "${method}"` };
    }
  }

  private async resetSecurityProfile(chargePointId: string): Promise<SecurityRpcReply> {
    const recorded = await this.opts.state.profile(chargePointId);
    await this.opts.state.deleteProfile(chargePointId);
    this.opts.logger.warn(
      { chargePointId, previousProfile: recorded?.profile ?? null },
      'security profile record reset by the operator: a lower profile is admitted again until it connects with 2 or 3',
    );
    return { result: { previousProfile: recorded?.profile ?? null } };
  }

  private async rotatePassword(
    session: ChargePointSession,
    call: NonNullable<RpcTarget['call']>,
    params: Record<string, unknown>,
  ): Promise<SecurityRpcReply> {
    if (!this.opts.checksPasswords) {
      return {
        error:
          'this connector checks no Basic passwords (centralSystem.security has no "basic" entry): nothing to rotate',
      };
    }
    const version = session.spec.version;
    const generated = generatePassword(version);
    // 1.6 whitepaper A01.FR.02 (AuthorizationKey), 2.0.1/2.1 A01.FR.02 (SecurityCtrlr.BasicAuthPassword).
    const [action, payload] =
      version === 'ocpp1.6'
        ? ['ChangeConfiguration', { key: 'AuthorizationKey', value: generated.value }]
        : [
            'SetVariables',
            {
              setVariableData: [
                {
                  component: { name: 'SecurityCtrlr' },
                  variable: { name: 'BasicAuthPassword' },
                  attributeValue: generated.value,
                },
              ],
            },
          ];
    // The password is stored by PasswordRotation, which sees this CALL like any other.
    this.opts.markGenerated?.(payload);
    if (this.opts.counters) this.opts.counters.passwordRotations++;
    const response = await call(action, payload, this.opts.timeoutMs);
    const status = passwordWriteStatus(version, response);
    const result: Record<string, unknown> = { status: status ?? null, stored: outcomeOf(status) };
    if (params.reveal === true) {
      // Asked for explicitly: the reply (and ThingsBoard's RPC history) then holds the secret.
      result.password = generated.value;
      if (generated.forms.length > 1) result.basicAuthPassword = generated.forms[1];
    }
    return { result };
  }

  private async installCaCertificate(
    session: ChargePointSession,
    call: NonNullable<RpcTarget['call']>,
    params: Record<string, unknown>,
  ): Promise<SecurityRpcReply> {
    const { connection } = this.opts.config.centralSystem;
    const sources: Record<string, Buffer | undefined> = {
      signingCa: connection.signingCa?.cert,
      ca: connection.type === 'tls' ? connection.ca : undefined,
    };
    const source = params.source ?? (sources.signingCa ? 'signingCa' : 'ca');
    if (source !== 'signingCa' && source !== 'ca') return { error: '"source" must be "signingCa" or "ca"' };
    const pem = sources[source];
    if (pem === undefined) {
      return { error: `no CA certificate is configured as connection.${source}` };
    }
    const root = rootOf(pem);
    if (!root) return { error: `connection.${source} holds no certificate` };
    const version = session.spec.version;
    const certificateType =
      typeof params.certificateType === 'string'
        ? params.certificateType
        : version === 'ocpp1.6'
          ? 'CentralSystemRootCertificate'
          : 'CSMSRootCertificate';
    const response = (await call(
      'InstallCertificate',
      { certificateType, certificate: root.toString().replace(/\r\n/g, '\n') },
      this.opts.timeoutMs,
    )) as Record<string, unknown>;
    this.opts.logger.info(
      { chargePointId: session.id, certificateType, subject: root.subject, status: response.status },
      'CA certificate sent to the charge point',
    );
    return {
      result: {
        status: response.status ?? null,
        certificateType,
        subject: root.subject.replace(/\n/g, ', '),
        fingerprint256: root.fingerprint256,
      },
    };
  }
}
