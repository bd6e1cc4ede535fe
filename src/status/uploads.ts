/**
 * Where stations upload the logs a GetLog / GetDiagnostics asks for, when the operator turns it on
 * (`statusServer.uploads`, ours): the status server receives them under `/uploads/`, and each
 * arrival is reported to ThingsBoard as telemetry of the station's device.
 *
 * Stations cannot be expected to do the operator's HTTP basic auth (a 1.6 `location` or 2.x
 * `remoteLocation` is a bare URL, and many stations drop credentials from HTTP URLs), so the
 * upload path is exempt from the status server's login. Instead every GetLog/GetDiagnostics the
 * gateway sends gets its own URL with an unguessable token (128 random bits), valid for
 * `urlValidity` seconds and for a bounded number of files, and stored under that station's folder
 * only: an URL that leaks lets nobody read anything, and write at most a few files of `maxBytes`
 * into one station's folder for a while. Tokens live in memory (a restart invalidates them: the
 * station's upload fails and is retried by the operator) and are masked in logged frames.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { UploadsConfig } from '../config/types.js';
import type { UploadLocations, UploadRequest } from '../connector/upload-location.js';
import type { Logger } from '../log.js';
import {
  createLogUploadHandler,
  newUploadCounters,
  type RequestHandler,
  type UploadCounters,
  type UploadGrant,
} from './log-upload.js';

/** Upload URLs valid at once; beyond this the oldest is forgotten. */
const MAX_URLS = 10_000;
/** Files one URL may bring (a station retrying, or sending several parts). */
const MAX_FILES_PER_URL = 16;

/** Telemetry keys of an arrival (documented in README, "Log uploads"). */
export const UPLOAD_TELEMETRY = {
  file: 'logUploadFile',
  bytes: 'logUploadBytes',
  requestId: 'logUploadRequestId',
} as const;

/** One file stored, for ThingsBoard. */
export interface UploadArrival extends UploadRequest {
  /** The stored file, relative to the uploads folder (`<station folder>/<name>`). */
  file: string;
  bytes: number;
}

export interface LogUploadsOptions {
  config: UploadsConfig;
  logger: Logger;
  onArrival(arrival: UploadArrival): void;
  now?: () => number;
}

interface Grant {
  request: UploadRequest;
  expiresAt: number;
  files: number;
}

/** A charge point id as one safe path segment; changed ids get a hash so two never share a folder. */
export function stationFolder(chargePointId: string): string {
  const safe = chargePointId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64);
  if (safe === chargePointId && safe !== '') return safe;
  const hash = createHash('sha256').update(chargePointId).digest('hex').slice(0, 8);
  return `${safe || 'cp'}-${hash}`;
}

/** `GetLog-7-20260115T101500Z`: what a file is called when the station names none. */
function defaultName(request: UploadRequest, at: number): string {
  const stamp = new Date(at)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${request.action}-${request.requestId ?? 'x'}-${stamp}`;
}

export class LogUploads implements UploadLocations {
  readonly counters: UploadCounters & { urlsIssued: number } = { ...newUploadCounters(), urlsIssued: 0 };
  readonly handler: RequestHandler;
  private readonly opts: LogUploadsOptions;
  private readonly grants = new Map<string, Grant>();
  private readonly now: () => number;
  private baseUrl: string | undefined;

  constructor(opts: LogUploadsOptions) {
    this.opts = opts;
    this.now = opts.now ?? Date.now;
    this.baseUrl = opts.config.publicUrl;
    this.handler = createLogUploadHandler<UploadRequest>({
      dir: opts.config.folder,
      maxBytes: opts.config.maxBytes,
      logger: opts.logger,
      counters: this.counters,
      admit: (segments) => this.admit(segments),
      onUploaded: (u) => {
        if (u.context === undefined) return;
        this.opts.onArrival({ ...u.context, file: `${u.folder ?? ''}/${u.file}`, bytes: u.bytes });
      },
    });
  }

  /** The status server listens at `url`: the base of upload URLs unless `publicUrl` says otherwise. */
  listening(url: string): void {
    this.baseUrl ??= url;
  }

  /** Upload URLs valid now. */
  get validUrls(): number {
    this.forgetExpired();
    return this.grants.size;
  }

  issue(request: UploadRequest): { url: string } | { error: string } {
    if (this.baseUrl === undefined) {
      return { error: 'no upload URL available: the status server is not running' };
    }
    this.forgetExpired();
    if (this.grants.size >= MAX_URLS) {
      const oldest = this.grants.keys().next();
      if (!oldest.done) this.grants.delete(oldest.value);
    }
    const token = randomBytes(16).toString('base64url');
    const expiresAt = this.now() + this.opts.config.urlValiditySeconds * 1000;
    this.grants.set(token, { request, expiresAt, files: 0 });
    this.counters.urlsIssued++;
    this.opts.logger.info(
      {
        chargePointId: request.chargePointId,
        action: request.action,
        requestId: request.requestId,
        validUntil: new Date(expiresAt).toISOString(),
      },
      'upload URL handed to the charge point',
    );
    return { url: `${this.baseUrl}uploads/${token}/` };
  }

  private admit(segments: string[]): UploadGrant<UploadRequest> | undefined {
    const [token, name] = segments;
    const grant = token === undefined ? undefined : this.grants.get(token);
    if (grant === undefined || token === undefined) return undefined;
    const now = this.now();
    if (grant.expiresAt <= now) {
      this.grants.delete(token);
      return undefined;
    }
    if (grant.files >= MAX_FILES_PER_URL) return undefined;
    grant.files++;
    return {
      store: [stationFolder(grant.request.chargePointId), name ?? defaultName(grant.request, now)],
      context: grant.request,
    };
  }

  /** Grants are kept in the order they were issued, which is the order they expire in. */
  private forgetExpired(): void {
    const now = this.now();
    for (const [token, grant] of this.grants) {
      if (grant.expiresAt > now) return;
      this.grants.delete(token);
    }
  }
}
