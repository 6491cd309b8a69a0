import { MlbomError, type Problem, type SourceContext } from '@mlbom/core';

/** Any failure as an MlbomError naming `subject` (errors from @huggingface/hub or JSON parsing are not). */
export function asMlbomError(error: unknown, subject: string): MlbomError {
  if (error instanceof MlbomError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new MlbomError('SOURCE_FAILED', `${subject}: ${message}`, { cause: error });
}

/**
 * Turns a failure into a problem to record, after logging it; rethrows an abort (and anything once
 * the caller's signal fired), which must stop the whole run.
 */
export function recordFailure(
  error: unknown,
  subject: string,
  problemSubject: string,
  ctx: SourceContext,
  what: string,
): Problem {
  const mlbom = asMlbomError(error, subject);
  if (mlbom.code === 'ABORTED' || ctx.signal.aborted)
    throw mlbom.code === 'ABORTED' ? mlbom : new MlbomError('ABORTED', `${subject}: aborted`);
  ctx.logger.warn(`${mlbom.message}; ${what}`);
  return { code: mlbom.code, message: mlbom.message, subject: problemSubject };
}
