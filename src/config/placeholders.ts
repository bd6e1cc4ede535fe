/**
 * Credentials still holding the example values shipped with this gateway or the Python one: the
 * gateway would start and then be refused by ThingsBoard forever (`reason 5`), or admit any
 * charge point that knows the documentation. A warning at start and in check-config says so.
 */
import type { ConfigReport } from './report.js';
import type { OcppConnectorConfig, ThingsBoardConfig } from './types.js';

/** `YOUR_GATEWAY_ACCESS_TOKEN`, the Python `PUT_YOUR_GW_ACCESS_TOKEN_HERE`, `<token>`, … */
const PLACEHOLDER = /^(?:PUT_)?YOUR_|_HERE$|^<[^>]*>$|^(?:GW_)?ACCESS_TOKEN$|^CHANGE_?ME$|^TOKEN$/i;

/** The charge point credentials of the documented example ocpp.json. */
const EXAMPLE_TOKENS = new Set(['Bearer ACCESS_TOKEN', 'ACCESS_TOKEN']);

export function isPlaceholder(value: string): boolean {
  return PLACEHOLDER.test(value.trim());
}

export function warnPlaceholders(
  thingsboard: ThingsBoardConfig,
  connectors: readonly OcppConnectorConfig[],
  report: ConfigReport,
): void {
  const token = thingsboard.username;
  if (token !== undefined && isPlaceholder(token)) {
    report.warn(
      `the ThingsBoard access token is the placeholder ${JSON.stringify(token)}: ThingsBoard will refuse ` +
        'the connection. Copy the access token of your gateway device (created with "Is gateway" checked) ' +
        'into thingsboard.security.accessToken, or set TB_GW_ACCESS_TOKEN',
    );
  }
  for (const c of connectors) {
    c.centralSystem.security.forEach((rule, i) => {
      const example =
        rule.type === 'token'
          ? rule.tokens.some(
              (t) => EXAMPLE_TOKENS.has(t.trim()) || isPlaceholder(t.replace(/^Bearer\s+/i, '')),
            )
          : rule.credentials.some((cred) => cred.username === 'admin' && cred.password === 'admin');
      if (example) {
        report.warn(
          `${c.file}: centralSystem.security[${i}] still holds the example ${rule.type === 'token' ? 'token' : 'credentials admin/admin'} ` +
            'from the documentation: any charge point that knows them is admitted; set your own',
        );
      }
    });
  }
}
