import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { makeTestCertificates } from '../helpers/certs.js';

/** The example ocpp.json of the seed document, verbatim. */
export const SEED_OCPP_JSON = `{
  "centralSystem": {
    "name": "Central System",
    "host": "127.0.0.1",
    "port": 9000,
    "connection": {
      "type": "insecure"
    },
    "security": [
      {
        "type": "token",
        "tokens": [
          "Bearer ACCESS_TOKEN"
        ]
      },
      {
        "type": "basic",
        "credentials": [
          {
            "username": "admin",
            "password": "admin"
          }
        ]
      }
    ]
  },
  "chargePoints": [
    {
      "idRegexpPattern": "bidon/hello/CP_1",
      "deviceNameExpression": "\${Vendor} \${Model}",
      "deviceTypeExpression": "default",
      "attributes": [
        {
          "messageTypeFilter": "MeterValues,",
          "key": "temp1",
          "value": "\${meter_value[:].sampled_value[:].value}"
        },
        {
          "messageTypeFilter": "MeterValues,",
          "key": "vendorId",
          "value": "\${connector_id}"
        }
      ],
      "timeseries": [
        {
          "messageTypeFilter": "DataTransfer,",
          "key": "temp",
          "value": "\${data.temp}"
        }
      ],
      "attributeUpdates": [
        {
          "attributeOnThingsBoard": "shared",
          "valueExpression": "{\\"\${attributeKey}\\":\\"\${attributeValue}\\"}"
        }
      ],
      "serverSideRpc": [
        {
          "methodRPC": "rpc1",
          "withResponse": true,
          "valueExpression": "\${params}"
        }
      ]
    }
  ]
}
`;

type Json = Record<string, unknown>;

/** A minimal valid tb_gateway.json naming one connector file, `ocpp.json`. */
export function aGatewayJson(overrides: Json = {}): Json {
  return {
    thingsboard: { host: 'tb.example', port: 1883, security: { accessToken: 'GATEWAY_TOKEN' } },
    connectors: [{ type: 'ocpp', name: 'OCPP Connector', configuration: 'ocpp.json' }],
    ...overrides,
  };
}

/** A minimal valid ocpp.json: one charge point entry, everything else defaulted. */
export function anOcppJson(overrides: Json = {}): Json {
  return { chargePoints: [{ idRegexpPattern: 'CP_1' }], ...overrides };
}

/** A temporary folder for one test's config files, removed after the test. */
export class ConfigDir {
  readonly dir = mkdtempSync(join(tmpdir(), 'tbgw-config-'));

  /** Writes `content` (objects as JSON) to `name` in the folder and returns its absolute path. */
  write(name: string, content: string | Json): string {
    const file = join(this.dir, name);
    writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
    return file;
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  /** Writes tb_gateway.json and ocpp.json and returns the path of tb_gateway.json. */
  files(gateway: Json | string = aGatewayJson(), ocpp: Json | string = anOcppJson()): string {
    this.write('ocpp.json', ocpp);
    return this.write('tb_gateway.json', gateway);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Gives each test of the calling file a fresh ConfigDir. */
export function useConfigDir(): () => ConfigDir {
  let current: ConfigDir | undefined;
  beforeEach(() => {
    current = new ConfigDir();
  });
  afterEach(() => {
    current?.remove();
    current = undefined;
  });
  return () => {
    if (current === undefined) throw new Error('useConfigDir: no test is running');
    return current;
  };
}

/**
 * Real PEM material for config tests (TLS files are parsed and cross-checked at load), made once
 * per test file with openssl in a temporary folder that is removed when the process exits.
 */
export function testPem(): { cert: string; key: string; ca: string; clientCert: string; clientKey: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tb-pem-'));
  try {
    const certs = makeTestCertificates(dir, 'CP_1');
    return {
      cert: certs.serverRsa.cert.toString(),
      key: certs.serverRsa.key.toString(),
      ca: certs.ca.toString(),
      clientCert: certs.client.cert.toString(),
      clientKey: certs.client.key.toString(),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
