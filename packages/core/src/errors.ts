/** Machine-readable reasons a caller can branch on. */
export type MlbomErrorCode =
  | 'INVALID_INPUT'
  | 'NOT_FOUND'
  | 'PERMISSION_DENIED'
  | 'AUTH'
  | 'SOURCE_FAILED'
  | 'FILE_UNREADABLE'
  | 'FORMAT_INVALID'
  | 'BOM_INVALID'
  | 'ABORTED';

/** The one error type mlbom throws; `message` names the thing at fault. */
export class MlbomError extends Error {
  override readonly name: string = 'MlbomError';
  readonly code: MlbomErrorCode;

  constructor(code: MlbomErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** A failed HTTP exchange, with what is needed to report it (never the credentials). */
export class MlbomHttpError extends MlbomError {
  override readonly name: string = 'MlbomHttpError';
  readonly status: number;
  readonly url: string;
  readonly requestId: string | undefined;

  constructor(
    code: MlbomErrorCode,
    message: string,
    details: { status: number; url: string; requestId?: string | undefined },
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.status = details.status;
    this.url = details.url;
    this.requestId = details.requestId;
  }
}

export function isMlbomError(value: unknown): value is MlbomError {
  return value instanceof MlbomError;
}

/** Maps a Node.js fs error to an MlbomError that names the path. */
export function fsError(err: unknown, path: string, what = 'read'): MlbomError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return new MlbomError('NOT_FOUND', `${path}: no such file or directory`, { cause: err });
    case 'EACCES':
    case 'EPERM':
      return new MlbomError('PERMISSION_DENIED', `${path}: permission denied`, { cause: err });
    default:
      return new MlbomError(
        'FILE_UNREADABLE',
        `${path}: cannot ${what} (${code ?? (err instanceof Error ? err.message : String(err))})`,
        { cause: err },
      );
  }
}
