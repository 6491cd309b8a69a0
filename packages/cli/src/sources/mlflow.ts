import { readFileSync, statSync } from 'node:fs';
import { MlbomError, type Source } from '@mlbom/core';
import { artifactModeSchema, mlflow, registryTarget } from '@mlbom/mlflow';
import { Option } from 'commander';
import { Agent } from 'undici';
import type { SourcePlugin } from './types.js';

const nonEmpty = (value: string | undefined) => (value !== undefined && value.trim() !== '' ? value : undefined);

/** TLS settings of the tracking server, named as the MLflow client names them. */
interface TrackingTls {
  insecure: boolean;
  caPath: string | undefined;
  clientCertPath: string | undefined;
}

function trackingTls(env: NodeJS.ProcessEnv): TrackingTls | undefined {
  const insecure = ['true', '1'].includes((env.MLFLOW_TRACKING_INSECURE_TLS ?? '').trim().toLowerCase());
  const caPath = nonEmpty(env.MLFLOW_TRACKING_SERVER_CERT_PATH)?.trim();
  const clientCertPath = nonEmpty(env.MLFLOW_TRACKING_CLIENT_CERT_PATH)?.trim();
  return insecure || caPath || clientCertPath ? { insecure, caPath, clientCertPath } : undefined;
}

/** A PEM file's text; certificates and keys are kilobytes, so anything over 1 MiB is refused unread. */
function readPem(path: string, variable: string): string {
  try {
    if (statSync(path).size > 1024 * 1024) throw new Error('larger than 1 MiB');
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new MlbomError(
      'INVALID_INPUT',
      `${variable} (${path}) cannot be read: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

/**
 * A fetch whose TLS follows MLFLOW_TRACKING_INSECURE_TLS, MLFLOW_TRACKING_SERVER_CERT_PATH (a CA bundle)
 * and MLFLOW_TRACKING_CLIENT_CERT_PATH (a PEM holding the client certificate and its key).
 * Node's fetch has no CA or client-certificate option; an undici agent (the library behind it) carries them.
 */
function tlsFetch(tls: TrackingTls): typeof globalThis.fetch {
  if (tls.insecure && tls.caPath) {
    // The MLflow client refuses this combination too.
    throw new MlbomError(
      'INVALID_INPUT',
      'MLFLOW_TRACKING_INSECURE_TLS and MLFLOW_TRACKING_SERVER_CERT_PATH cannot both be set',
    );
  }
  const clientPem = tls.clientCertPath ? readPem(tls.clientCertPath, 'MLFLOW_TRACKING_CLIENT_CERT_PATH') : undefined;
  const agent = new Agent({
    connect: {
      rejectUnauthorized: !tls.insecure,
      ...(tls.caPath ? { ca: readPem(tls.caPath, 'MLFLOW_TRACKING_SERVER_CERT_PATH') } : {}),
      ...(clientPem ? { cert: clientPem, key: clientPem } : {}),
    },
  });
  // Node's fetch accepts an undici dispatcher; its RequestInit type does not declare the field.
  return (input, init) => globalThis.fetch(input, { ...init, dispatcher: agent } as RequestInit);
}

/** The source with its requests made through `tlsFetch`, set up on its first target (so bad TLS settings only fail MLflow runs). */
function withTls(source: Source, tls: TrackingTls): Source {
  let fetch: typeof globalThis.fetch | undefined;
  return {
    ...source,
    collect: async (target, ctx) => {
      fetch ??= tlsFetch(tls);
      return source.collect(target, { ...ctx, fetch });
    },
  };
}

/**
 * MLflow: `models:/...`, `runs:/...` and `mlruns` folders as targets, `--mlflow-registry` for every
 * registered model version (and the unregistered MLflow 3 logged models). The tracking server and its credentials come from the environment the
 * way the MLflow client reads them: MLFLOW_TRACKING_URI, MLFLOW_TRACKING_USERNAME and
 * MLFLOW_TRACKING_PASSWORD (basic, wins when both are set), else MLFLOW_TRACKING_TOKEN (bearer), and the
 * TLS variables above.
 */
export const mlflowPlugin: SourcePlugin = {
  name: 'mlflow',
  register(command) {
    command
      .option(
        '--tracking-uri <uri>',
        'MLflow tracking server (http(s)://...) or mlruns file store for models:/, runs:/ and --mlflow-registry (default: $MLFLOW_TRACKING_URI)',
      )
      .option(
        '--mlflow-registry',
        'inventory every registered model version of the MLflow tracking server, then the MLflow 3 logged models no version covers',
        false,
      )
      .option('--filter <filter>', `with --mlflow-registry: an MLflow search filter, e.g. "name LIKE 'fraud%'"`)
      .addOption(
        new Option(
          '--mlflow-artifacts <mode>',
          'MLflow artifacts downloaded to hash (and scan): none, models (weights and pickles) or all',
        )
          .choices(artifactModeSchema.options)
          .default('models'),
      );
  },
  make(flags, env) {
    const filter = typeof flags.filter === 'string' ? flags.filter : undefined;
    if (filter !== undefined && flags.mlflowRegistry !== true) {
      throw new MlbomError('INVALID_INPUT', '--filter applies to --mlflow-registry; add --mlflow-registry');
    }
    const trackingUri =
      nonEmpty(typeof flags.trackingUri === 'string' ? flags.trackingUri : undefined) ??
      nonEmpty(env.MLFLOW_TRACKING_URI);
    const username = nonEmpty(env.MLFLOW_TRACKING_USERNAME);
    const password = nonEmpty(env.MLFLOW_TRACKING_PASSWORD);
    const token = nonEmpty(env.MLFLOW_TRACKING_TOKEN);
    const basic = username !== undefined && password !== undefined;
    const source = mlflow({
      ...(trackingUri ? { trackingUri: trackingUri.trim() } : {}),
      ...(basic ? { username, password } : token ? { token } : {}),
      artifacts: (flags.mlflowArtifacts as 'none' | 'models' | 'all' | undefined) ?? 'models',
      hash: flags.hash !== false,
      // `--no-scan` (the scanner's generate flag) turns artifact scanning off here too.
      scan: flags.scan !== false,
    });
    const tls = trackingTls(env);
    return tls ? withTls(source, tls) : source;
  },
  impliedTargets(flags) {
    return flags.mlflowRegistry === true
      ? [registryTarget(typeof flags.filter === 'string' ? flags.filter : undefined)]
      : [];
  },
};
