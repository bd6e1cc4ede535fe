/**
 * Every action a charge point may initiate gets an answer from the gateway's table, and that
 * answer is valid against the official response schema of the charge point's version.
 */
import { describe, expect, it } from 'vitest';
import { ANSWERS, type AnswerContext } from '../../src/connector/answers.js';
import { PayloadValidator } from '../../src/ocpp/validator.js';
import { OCPP_VERSIONS, type OcppVersion } from '../../src/ocpp/versions.js';

const VERSIONS: OcppVersion[] = ['ocpp1.6', 'ocpp2.0.1', 'ocpp2.1'];
const NOW = new Date('2026-11-23T10:00:00.000Z');

const HASH = { hashAlgorithm: 'SHA256', issuerNameHash: 'a1', issuerKeyHash: 'b2', serialNumber: '0c' };

/** Requests whose answer echoes or depends on their content; every other answer ignores the payload. */
const REQUESTS: Record<string, Record<string, unknown>> = {
  VatNumberValidation: { vatNumber: 'DE123456789', evseId: 1 },
  GetCertificateChainStatus: {
    certificateStatusRequests: [
      { certificateHashData: HASH, source: 'OCSP', urls: ['http://ocsp.example/'] },
      { certificateHashData: { ...HASH, serialNumber: '0d' }, source: 'CRL', urls: ['http://crl.example/'] },
    ],
  },
};

function aContext(action: string, payload: Record<string, unknown> = REQUESTS[action] ?? {}): AnswerContext {
  let transactionId = 41;
  return { payload, heartbeatInterval: 300, nextTransactionId: () => ++transactionId, now: () => NOW };
}

const validators = new Map(VERSIONS.map((v) => [v, new PayloadValidator(OCPP_VERSIONS[v])]));
const rows = VERSIONS.flatMap((v) =>
  [...OCPP_VERSIONS[v].chargePointActions].sort().map((a) => [v, a] as const),
);

describe('answers to charge-point-initiated actions', () => {
  it.each(VERSIONS)('%s: the table answers exactly the actions a charge point may initiate', (version) => {
    expect([...ANSWERS[version].keys()].sort()).toEqual(
      [...OCPP_VERSIONS[version].chargePointActions].sort(),
    );
  });

  it.each(rows)('%s %s: the answer is schema-valid', (version, action) => {
    const answer = ANSWERS[version].get(action);
    expect(answer, `no answer for ${action}`).toBeDefined();
    const response = answer?.(aContext(action));
    expect(validators.get(version)?.validateResponse(action, response)?.message).toBeUndefined();
  });

  it.each(
    VERSIONS.flatMap((v) =>
      Object.keys(REQUESTS)
        .filter((a) => OCPP_VERSIONS[v].chargePointActions.has(a))
        .map((a) => [v, a] as const),
    ),
  )('%s %s: the request used above is itself schema-valid', (version, action) => {
    expect(validators.get(version)?.validateRequest(action, REQUESTS[action])?.message).toBeUndefined();
  });

  it('GetCertificateChainStatus answers each certificate asked about as Unknown', () => {
    const response = ANSWERS['ocpp2.1'].get('GetCertificateChainStatus')?.(
      aContext('GetCertificateChainStatus'),
    );
    expect(response).toEqual({
      certificateStatus: [
        {
          certificateHashData: HASH,
          source: 'OCSP',
          status: 'Unknown',
          nextUpdate: '2026-11-23T10:00:00.000Z',
        },
        {
          certificateHashData: { ...HASH, serialNumber: '0d' },
          source: 'CRL',
          status: 'Unknown',
          nextUpdate: '2026-11-23T10:00:00.000Z',
        },
      ],
    });
  });

  it.each([
    [
      'ocpp1.6',
      'BootNotification',
      { status: 'Accepted', currentTime: '2026-11-23T10:00:00.000Z', interval: 300 },
    ],
    [
      'ocpp2.0.1',
      'BootNotification',
      { status: 'Accepted', currentTime: '2026-11-23T10:00:00.000Z', interval: 300 },
    ],
    ['ocpp2.1', 'Heartbeat', { currentTime: '2026-11-23T10:00:00.000Z' }],
    ['ocpp1.6', 'StartTransaction', { transactionId: 42, idTagInfo: { status: 'Accepted' } }],
  ] as const)('%s %s carries the context values', (version, action, expected) => {
    expect(ANSWERS[version].get(action)?.(aContext(action))).toEqual(expected);
  });

  it.each([
    ['ocpp2.0.1', 'TransactionEvent', {}, {}],
    [
      'ocpp2.0.1',
      'TransactionEvent',
      { idToken: { idToken: 'T', type: 'ISO14443' } },
      { idTokenInfo: { status: 'Accepted' } },
    ],
    [
      'ocpp2.1',
      'TransactionEvent',
      { idToken: { idToken: 'T', type: 'ISO14443' } },
      { idTokenInfo: { status: 'Accepted' } },
    ],
    ['ocpp1.6', 'StopTransaction', {}, {}],
    ['ocpp1.6', 'StopTransaction', { idTag: 'T' }, { idTagInfo: { status: 'Accepted' } }],
  ] as const)('%s %s with %j answers %j', (version, action, payload, expected) => {
    const response = ANSWERS[version].get(action)?.(aContext(action, payload));
    expect(response).toEqual(expected);
    expect(validators.get(version)?.validateResponse(action, response)?.message).toBeUndefined();
  });
});
