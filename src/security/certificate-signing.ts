/**
 * The Central System's side of a station's certificate requests:
 * - SignCertificate (2.0.1/2.1; 1.6 whitepaper): Accepted when the gateway can sign that kind of
 *   certificate (A02.FR.11, A03.FR.11), Rejected otherwise (A02.FR.12); the CSR is then checked and
 *   signed, and the chain sent with CertificateSigned, a CALL that follows the answer.
 * - Get15118EVCertificate and GetCertificateStatus: no ISO 15118 contract CA and no OCSP responder
 *   here, so the spec's failure status, at once.
 * A CSR that fails a check gets no certificate: the station is not told (A02 error handling: the
 * operator is), so the refusal is logged and sent to ThingsBoard as telemetry of the device.
 */
import type { ActionContext, ActionHandler, ActionOutcome } from '../connector/action-handlers.js';
import type { Logger } from '../log.js';
import { identityOf } from '../ocpp/auth.js';
import type { ChargePointSession } from '../ocpp/session.js';
import { newSecurityCounters, type SecurityCounters } from './counters.js';
import { CertificateSigner, CsrRefused } from './csr.js';

/** CertificateSigned.req certificateChain (1.6 whitepaper §5.1, 2.0.1/2.1 schema): at most 10000 characters. */
const MAX_CHAIN_LENGTH = 10_000;
/** CSRs being checked and signed at once per connector; more are answered Rejected. */
const MAX_IN_FLIGHT = 16;
const CERTIFICATE_SIGNED_TIMEOUT_MS = 30_000;

export interface CertificateSigningOptions {
  signer: CertificateSigner | undefined;
  logger: Logger;
  /** Telemetry of a charge point's device, sent outside any answer. */
  emitTelemetry(chargePointId: string, values: Record<string, unknown>): void;
  counters?: SigningCounters;
}

type SigningCounters = Pick<
  SecurityCounters,
  | 'signRequestsAccepted'
  | 'signRequestsRejected'
  | 'csrsRejected'
  | 'certificatesInstalled'
  | 'certificatesRefused'
  | 'certificatesNotDelivered'
>;

/** Telemetry keys (documented in README, "Security"). */
export const SIGNING_TELEMETRY = {
  status: 'certificateSigningStatus',
  error: 'certificateSigningError',
  serialNumber: 'certificateSerialNumber',
  validTo: 'certificateValidTo',
} as const;

function rejected(version: string, reasonCode: string, additionalInfo: string): Record<string, unknown> {
  // 1.6 SignCertificate.conf has only a status; 2.x may say why (reasonCode ≤ 20 characters).
  return version === 'ocpp1.6'
    ? { status: 'Rejected' }
    : { status: 'Rejected', statusInfo: { reasonCode, additionalInfo: additionalInfo.slice(0, 512) } };
}

export class CertificateSigning {
  private readonly opts: CertificateSigningOptions;
  private readonly counters: SigningCounters;
  private inFlight = 0;

  constructor(opts: CertificateSigningOptions) {
    this.opts = opts;
    this.counters = opts.counters ?? newSecurityCounters();
  }

  handlers(): [string, ActionHandler][] {
    return [
      ['SignCertificate', (ctx) => this.onSignCertificate(ctx)],
      // 2.0.1 M02/M06: Failed when the CSMS cannot get the answer (no contract CA / OCSP responder).
      [
        'Get15118EVCertificate',
        (ctx) => this.failed(ctx, 'Get15118EVCertificate', { status: 'Failed', exiResponse: '' }),
      ],
      ['GetCertificateStatus', (ctx) => this.failed(ctx, 'GetCertificateStatus', { status: 'Failed' })],
    ];
  }

  private failed(ctx: ActionContext, action: string, response: Record<string, unknown>): ActionOutcome {
    this.opts.logger.warn(
      { chargePointId: ctx.session.id, action },
      `${action} answered Failed: this Central System has no ISO 15118 contract CA and no OCSP responder`,
    );
    return { response };
  }

  private onSignCertificate(ctx: ActionContext): ActionOutcome {
    const { session, payload } = ctx;
    const version = session.spec.version;
    const { logger } = this.opts;
    // 1.6 asks only for charge point certificates; in 2.x no type means one for both uses, which
    // includes the connection to the Central System.
    const type = typeof payload.certificateType === 'string' ? payload.certificateType : undefined;
    const refuse = (reasonCode: string, why: string): ActionOutcome => {
      this.counters.signRequestsRejected++;
      logger.warn(
        { chargePointId: session.id, certificateType: type, reason: why },
        'SignCertificate rejected',
      );
      return { response: rejected(version, reasonCode, why) };
    };
    if (this.opts.signer === undefined) {
      return refuse('NoCA', 'no signing CA is configured (connection.signingCa)');
    }
    if (type !== undefined && type !== 'ChargingStationCertificate') {
      return refuse('UnsupportedCertType', `${type} certificates are not signed here (no V2G CA)`);
    }
    if (this.inFlight >= MAX_IN_FLIGHT) return refuse('Busy', 'too many certificate requests at once');
    this.inFlight++;
    this.counters.signRequestsAccepted++;
    const csr = typeof payload.csr === 'string' ? payload.csr : '';
    return {
      response: { status: 'Accepted' },
      afterAnswer: () => {
        this.signAndSend(session, csr, type, payload.requestId)
          .catch((err: unknown) =>
            logger.error({ chargePointId: session.id, err }, 'certificate signing failed'),
          )
          .finally(() => this.inFlight--);
      },
    };
  }

  private async signAndSend(
    session: ChargePointSession,
    csr: string,
    type: string | undefined,
    requestId: unknown,
  ): Promise<void> {
    const { logger } = this.opts;
    const signer = this.opts.signer as CertificateSigner;
    const id = session.id;
    const telemetry = (values: Record<string, unknown>): void => this.opts.emitTelemetry(id, values);
    let chainPem: string;
    let serialNumber: string;
    let validTo: string;
    try {
      const policy = { commonName: identityOf(id), organization: await signer.organizationPolicy() };
      ({ chainPem, serialNumber, validTo } = await signer.sign(csr, policy));
    } catch (err) {
      const reason = err instanceof CsrRefused ? err.message : `signing failed: ${(err as Error).message}`;
      this.counters.csrsRejected++;
      logger.warn({ chargePointId: id, reason }, 'CSR refused: no certificate is sent to the charge point');
      telemetry({ [SIGNING_TELEMETRY.status]: 'CsrRejected', [SIGNING_TELEMETRY.error]: reason });
      return;
    }
    if (chainPem.length > MAX_CHAIN_LENGTH) {
      const reason = `the certificate chain is ${chainPem.length} characters, more than CertificateSigned carries (${MAX_CHAIN_LENGTH}): shorten signingCa.cert`;
      this.counters.certificatesNotDelivered++;
      logger.error({ chargePointId: id, reason }, 'signed certificate not sent');
      telemetry({ [SIGNING_TELEMETRY.status]: 'NotDelivered', [SIGNING_TELEMETRY.error]: reason });
      return;
    }
    const request: Record<string, unknown> = { certificateChain: chainPem };
    if (session.spec.version !== 'ocpp1.6') {
      // Required in the answer when the request named a type (2.0.1 CertificateSignedRequest).
      if (type !== undefined) request.certificateType = type;
      // 2.1: the request id correlates the two.
      if (session.spec.version === 'ocpp2.1' && typeof requestId === 'number') request.requestId = requestId;
    }
    const signed = { [SIGNING_TELEMETRY.serialNumber]: serialNumber, [SIGNING_TELEMETRY.validTo]: validTo };
    try {
      const response = (await session.call('CertificateSigned', request, CERTIFICATE_SIGNED_TIMEOUT_MS)) as {
        status?: unknown;
      };
      const status = typeof response.status === 'string' ? response.status : 'Unknown';
      this.counters[status === 'Accepted' ? 'certificatesInstalled' : 'certificatesRefused']++;
      logger.info(
        { chargePointId: id, serialNumber, validTo, status },
        status === 'Accepted'
          ? 'charge point installed the certificate the gateway signed'
          : 'charge point rejected the certificate the gateway signed',
      );
      telemetry({ [SIGNING_TELEMETRY.status]: status, ...signed });
    } catch (err) {
      this.counters.certificatesNotDelivered++;
      logger.warn(
        { chargePointId: id, serialNumber, reason: String(err) },
        'CertificateSigned not delivered',
      );
      telemetry({
        [SIGNING_TELEMETRY.status]: 'NotDelivered',
        [SIGNING_TELEMETRY.error]: String(err),
        ...signed,
      });
    }
  }
}
