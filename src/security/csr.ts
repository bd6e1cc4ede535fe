/**
 * Checking a charge point's certificate signing request and signing it with the configured CA
 * (OCPP 2.0.1 A02/A03, 1.6 whitepaper A02/A03). PKCS#10 parsing and X.509 building are pkijs'
 * (pure JavaScript on Node's webcrypto), loaded on first use: a gateway without a signing CA never
 * loads it.
 */
import { createHash, createPublicKey, randomBytes, webcrypto } from 'node:crypto';
import type { SigningCaConfig } from '../config/types.js';
import { certificatesOf, keyStrengthProblem, readPrivateKey } from './key-pairs.js';

type Pkijs = typeof import('pkijs');
type Asn1js = typeof import('asn1js');
type CryptoKey = webcrypto.CryptoKey;

const OID = {
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
} as const;

/** What a CSR must say to be signed. */
export interface CsrPolicy {
  /** The CN: the charge point identity (the last segment of its URL). */
  commonName: string;
  /**
   * The O: the operator's name (A00.FR.404/509; the station's 2.x SecurityCtrlr.OrganizationName,
   * 1.6 CpoName), or any when undefined.
   */
  organization: string | undefined;
}

export interface SignedCertificate {
  /** The new certificate, then the CA file's certificates: what CertificateSigned carries. */
  chainPem: string;
  serialNumber: string;
  validTo: string;
}

export class CsrRefused extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'CsrRefused';
  }
}

interface Loaded {
  pkijs: Pkijs;
  asn1js: Asn1js;
  engine: InstanceType<Pkijs['CryptoEngine']>;
  caCert: InstanceType<Pkijs['Certificate']>;
  caKey: CryptoKey;
  hash: string;
  caPems: string[];
  caValidTo: Date;
}

/** DER of a PEM block of `label`, or of bare base64 (some stations send the CSR without armour). */
function pemBody(text: string): Buffer {
  const armoured =
    /-----BEGIN (?:NEW )?CERTIFICATE REQUEST-----([\s\S]*?)-----END (?:NEW )?CERTIFICATE REQUEST-----/.exec(
      text,
    );
  // Some firmwares send the PEM with its line breaks escaped ("\n" as two characters).
  const body = (armoured?.[1] ?? text).replace(/\\n|\\r|\s/g, '');
  if (body === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(body))
    throw new CsrRefused('the CSR is not PEM (RFC 2986, base64)');
  return Buffer.from(body, 'base64');
}

function toPem(der: ArrayBuffer, label: string): string {
  const b64 = Buffer.from(der).toString('base64');
  return `-----BEGIN ${label}-----\n${b64.replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END ${label}-----\n`;
}

function rdnValue(names: InstanceType<Pkijs['RelativeDistinguishedNames']>, oid: string): string[] {
  const out: string[] = [];
  for (const tv of names.typesAndValues) {
    if (tv.type !== oid) continue;
    const value = (tv.value as { valueBlock?: { value?: unknown } }).valueBlock?.value;
    if (typeof value === 'string') out.push(value);
  }
  return out;
}

export class CertificateSigner {
  private readonly ca: SigningCaConfig;
  private loading: Promise<Loaded> | undefined;

  constructor(ca: SigningCaConfig) {
    this.ca = ca;
  }

  /** The organization a CSR must name: `signingCa.organization`, else the CA's own O, else any. */
  async organizationPolicy(): Promise<string | undefined> {
    if (this.ca.organization !== undefined) return this.ca.organization;
    const { caCert } = await this.load();
    return rdnValue(caCert.subject, OID.organization)[0];
  }

  /** Checks `csrText` against `policy` and signs it; throws CsrRefused with the reason. */
  async sign(csrText: string, policy: CsrPolicy, now = new Date()): Promise<SignedCertificate> {
    const l = await this.load();
    const { pkijs, asn1js } = l;
    let csr: InstanceType<Pkijs['CertificationRequest']>;
    try {
      csr = pkijs.CertificationRequest.fromBER(pemBody(csrText));
    } catch (err) {
      if (err instanceof CsrRefused) throw err;
      throw new CsrRefused('the CSR is not a PKCS#10 certification request');
    }
    // Proof of possession: the CSR is signed with the key it asks a certificate for.
    let verified: boolean;
    try {
      verified = await csr.verify(l.engine);
    } catch {
      verified = false;
    }
    if (!verified) throw new CsrRefused('the CSR signature does not verify');
    const cn = rdnValue(csr.subject, OID.commonName);
    if (cn.length !== 1 || cn[0] !== policy.commonName) {
      throw new CsrRefused(`the CSR's CN must be the charge point identity "${policy.commonName}"`);
    }
    const org = rdnValue(csr.subject, OID.organization);
    if (org.length !== 1 || (policy.organization !== undefined && org[0] !== policy.organization)) {
      throw new CsrRefused(
        policy.organization === undefined
          ? "the CSR's subject must name one organization (O)"
          : `the CSR's organization (O) must be "${policy.organization}"`,
      );
    }
    const spki = Buffer.from(csr.subjectPublicKeyInfo.toSchema().toBER(false));
    const publicKey = createPublicKey({ key: spki, format: 'der', type: 'spki' });
    const weak = keyStrengthProblem(publicKey);
    if (weak !== undefined) throw new CsrRefused(`the CSR's key: ${weak}`);

    const cert = new pkijs.Certificate();
    cert.version = 2;
    const serial = randomBytes(16);
    // A positive DER integer without a leading zero byte (A00.FR.508: every certificate has one).
    serial[0] = (serial[0] ?? 1) & 0x7f || 0x01;
    cert.serialNumber = new asn1js.Integer({ valueHex: serial });
    cert.issuer = l.caCert.subject;
    cert.subject = csr.subject;
    // A few minutes back: a station whose clock is slightly behind must already accept it.
    const notBefore = new Date(now.getTime() - 5 * 60_000);
    const notAfter = new Date(
      Math.min(now.getTime() + this.ca.validityDays * 86_400_000, l.caValidTo.getTime()),
    );
    cert.notBefore.value = notBefore;
    cert.notAfter.value = notAfter;
    cert.subjectPublicKeyInfo = csr.subjectPublicKeyInfo;
    cert.extensions = this.extensions(l, csr, publicKey.asymmetricKeyType === 'rsa');
    await cert.sign(l.caKey, l.hash, l.engine);
    const leaf = toPem(cert.toSchema(true).toBER(false), 'CERTIFICATE');
    return {
      chainPem: [leaf, ...l.caPems].join(''),
      serialNumber: serial.toString('hex').toUpperCase().replace(/^0+/, ''),
      validTo: notAfter.toISOString(),
    };
  }

  /**
   * A charge point certificate: no CA, key usage per key type (A00.FR.512), no subjectAltName
   * (2.0.1 A00.FR.511: its CN is a serial number, never a host name), and no extended key usage
   * (2.0.1 A00.FR.514: strongly recommended against, for ISO 15118; without one, TLS stacks accept
   * it as a client certificate).
   */
  private extensions(
    l: Loaded,
    csr: InstanceType<Pkijs['CertificationRequest']>,
    rsa: boolean,
  ): InstanceType<Pkijs['Extension']>[] {
    const { pkijs, asn1js } = l;
    // digitalSignature (bit 0) plus keyEncipherment (bit 2, RSA key exchange) or keyAgreement (bit 4, ECDHE).
    const usage = rsa ? 0xa0 : 0x88;
    const extensions = [
      new pkijs.Extension({
        extnID: OID.basicConstraints,
        critical: true,
        extnValue: new pkijs.BasicConstraints({ cA: false }).toSchema().toBER(false),
      }),
      new pkijs.Extension({
        extnID: OID.keyUsage,
        critical: true,
        extnValue: new asn1js.BitString({ valueHex: new Uint8Array([usage]), unusedBits: rsa ? 5 : 3 }).toBER(
          false,
        ),
      }),
      new pkijs.Extension({
        extnID: OID.subjectKeyIdentifier,
        critical: false,
        extnValue: new asn1js.OctetString({
          valueHex: createHash('sha1')
            .update(csr.subjectPublicKeyInfo.subjectPublicKey.valueBlock.valueHexView)
            .digest(),
        }).toBER(false),
      }),
    ];
    // The CA's own key identifier, when it has one: OpenSSL matches the two when it builds a path.
    const caKeyId = l.caCert.extensions?.find((e) => e.extnID === OID.subjectKeyIdentifier);
    if (caKeyId) {
      const id = asn1js.fromBER(caKeyId.extnValue.valueBlock.valueHexView).result as InstanceType<
        Asn1js['OctetString']
      >;
      extensions.push(
        new pkijs.Extension({
          extnID: OID.authorityKeyIdentifier,
          critical: false,
          extnValue: new pkijs.AuthorityKeyIdentifier({ keyIdentifier: id }).toSchema().toBER(false),
        }),
      );
    }
    return extensions;
  }

  private load(): Promise<Loaded> {
    this.loading ??= this.doLoad();
    return this.loading;
  }

  private async doLoad(): Promise<Loaded> {
    const [pkijs, asn1js] = await Promise.all([import('pkijs'), import('asn1js')]);
    type EngineCrypto = ConstructorParameters<Pkijs['CryptoEngine']>[0]['crypto'];
    const engine = new pkijs.CryptoEngine({ name: 'node', crypto: webcrypto as unknown as EngineCrypto });
    const caX509 = certificatesOf(this.ca.cert);
    const first = caX509[0];
    if (!first) throw new Error('signingCa.cert holds no certificate');
    const caCert = pkijs.Certificate.fromBER(first.raw);
    const read = readPrivateKey(this.ca.key, this.ca.password);
    if (!read.ok) throw new Error(`signingCa.key: ${read.message}`);
    const pkcs8 = read.key.export({ format: 'der', type: 'pkcs8' });
    let algorithm: webcrypto.EcKeyImportParams | webcrypto.RsaHashedImportParams;
    let hash = 'SHA-256';
    if (read.key.asymmetricKeyType === 'ec') {
      const curve = read.key.asymmetricKeyDetails?.namedCurve;
      const named = curve === 'secp384r1' ? 'P-384' : curve === 'secp521r1' ? 'P-521' : 'P-256';
      // A hash as strong as the curve (A00.FR.504/506).
      hash = named === 'P-384' ? 'SHA-384' : named === 'P-521' ? 'SHA-512' : 'SHA-256';
      algorithm = { name: 'ECDSA', namedCurve: named };
    } else {
      // PKCS#1 v1.5 rather than the RSA-PSS A00.FR.505 suggests (a SHOULD): charge point TLS stacks
      // verify it everywhere, PSS certificates they often do not.
      algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    }
    const caKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, algorithm, false, ['sign']);
    return {
      pkijs,
      asn1js,
      engine,
      caCert,
      caKey,
      hash,
      caPems: caX509.map((c) => c.toString().replace(/\r\n/g, '\n').trimEnd() + '\n'),
      caValidTo: new Date(first.validTo),
    };
  }
}
