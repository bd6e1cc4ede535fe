/**
 * Server certificates are renewed (fast expiration is what the OCPP whitepaper recommends for the
 * Central System certificate, A00.FR.701), so a renewal must not need a restart: the files are
 * polled, and once they have stopped changing the new material is checked and swapped in with
 * `server.setSecureContext`. Connections already open keep the context they started with.
 *
 * Polling (`fs.watchFile`) rather than `fs.watch`: it follows symlink swaps (certbot's `live/`
 * links), sees a file replaced by rename, costs one stat per file per interval, and works the same
 * on every file system. A pair that does not match, or a file that cannot be read, leaves the
 * certificates in use in place and says so in the log.
 */
import { unwatchFile, watchFile, type Stats } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { SecureContextOptions } from 'node:tls';
import type { Logger } from '../log.js';
import { newSecurityCounters, type SecurityCounters } from './counters.js';
import { checkServerPairs } from './key-pairs.js';
import { describeCertificates, secureContextOptions, type TlsConnection } from './tls.js';

export interface CertificateReloaderOptions {
  connection: TlsConnection;
  logger: Logger;
  /** Replaces the server's secure context (CentralSystemServer.setSecureContext). */
  apply(options: SecureContextOptions): void;
  /** Where renewals are counted (the connector's security counters). */
  counters?: Pick<SecurityCounters, 'certificateReloads' | 'certificateReloadFailures'>;
}

export class CertificateReloader {
  readonly counters: Pick<SecurityCounters, 'certificateReloads' | 'certificateReloadFailures'>;
  private readonly opts: CertificateReloaderOptions;
  private readonly files: string[];
  private readonly listener = (curr: Stats, prev: Stats): void => this.onStat(curr, prev);
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private started = false;

  constructor(opts: CertificateReloaderOptions) {
    this.opts = opts;
    this.counters = opts.counters ?? newSecurityCounters();
    const { files } = opts.connection;
    this.files = [...new Set([...files.cert, ...files.key, ...(files.ca === undefined ? [] : [files.ca])])];
  }

  /** How long the files must stay unchanged before they are read: cert and key are two writes. */
  private get settleMs(): number {
    return Math.min(2000, Math.max(200, this.opts.connection.certificateCheckIntervalMs));
  }

  start(): void {
    const interval = this.opts.connection.certificateCheckIntervalMs;
    if (interval <= 0 || this.started) return;
    this.started = true;
    // persistent: false — the polling never keeps the process alive on its own.
    for (const file of this.files) watchFile(file, { interval, persistent: false }, this.listener);
  }

  async stop(): Promise<void> {
    this.started = false;
    for (const file of this.files) unwatchFile(file, this.listener);
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private onStat(curr: Stats, prev: Stats): void {
    if (curr.mtimeMs === prev.mtimeMs && curr.size === prev.size && curr.ino === prev.ino) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.reloadSoon();
    }, this.settleMs);
    this.timer.unref();
  }

  private reloadSoon(): void {
    if (!this.started) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.reload().then(
      () => undefined,
      (err: unknown) => void this.refuse(String(err)),
    );
    void this.running.finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.reloadSoon();
      }
    });
  }

  /** Reads, checks and applies the files; resolves true when the new material is in use. */
  async reload(): Promise<boolean> {
    const { connection, logger } = this.opts;
    let cert: Buffer[];
    let key: Buffer[];
    let ca: Buffer | undefined;
    try {
      cert = await Promise.all(connection.files.cert.map((f) => readFile(f)));
      key = await Promise.all(connection.files.key.map((f) => readFile(f)));
      ca = connection.files.ca === undefined ? undefined : await readFile(connection.files.ca);
    } catch (err) {
      return this.refuse(`cannot read: ${(err as Error).message}`);
    }
    const named = (files: string[], data: Buffer[]) =>
      files.map((file, i) => ({ file, data: data[i] ?? Buffer.alloc(0) }));
    const problems = checkServerPairs(
      named(connection.files.cert, cert),
      named(connection.files.key, key),
      connection.password,
    );
    if (problems.length > 0) {
      // The messages name the files.
      return this.refuse(problems.map((p) => p.message).join('; '));
    }
    try {
      this.opts.apply(secureContextOptions(connection, { cert, key, ...(ca === undefined ? {} : { ca }) }));
    } catch (err) {
      return this.refuse(`OpenSSL refused the new context: ${(err as Error).message}`);
    }
    this.counters.certificateReloads++;
    logger.info(
      { certificates: describeCertificates(cert) },
      'TLS certificates reloaded: new connections get the renewed certificates',
    );
    return true;
  }

  private refuse(reason: string): false {
    this.counters.certificateReloadFailures++;
    this.opts.logger.error(
      { reason },
      'renewed TLS certificate files are not usable: the certificates in use are kept',
    );
    return false;
  }
}
