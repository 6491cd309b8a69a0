import { MlbomError } from '@mlbom/core';
import { artifactModeSchema, mlflow, registryTarget } from '@mlbom/mlflow';
import { Option } from 'commander';
import type { SourcePlugin } from './types.js';

const nonEmpty = (value: string | undefined) => (value !== undefined && value.trim() !== '' ? value : undefined);

/**
 * MLflow: `models:/...`, `runs:/...` and `mlruns` folders as targets, `--mlflow-registry` for every
 * registered model version (and the unregistered MLflow 3 logged models). The tracking server and its credentials come from the environment the
 * way the MLflow client reads them: MLFLOW_TRACKING_URI, MLFLOW_TRACKING_USERNAME and
 * MLFLOW_TRACKING_PASSWORD (basic, wins when both are set), else MLFLOW_TRACKING_TOKEN (bearer).
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
    return mlflow({
      ...(trackingUri ? { trackingUri: trackingUri.trim() } : {}),
      ...(basic ? { username, password } : token ? { token } : {}),
      artifacts: (flags.mlflowArtifacts as 'none' | 'models' | 'all' | undefined) ?? 'models',
      hash: flags.hash !== false,
      // `--no-scan` (the scanner's generate flag) turns artifact scanning off here too.
      scan: flags.scan !== false,
    });
  },
  impliedTargets(flags) {
    return flags.mlflowRegistry === true
      ? [registryTarget(typeof flags.filter === 'string' ? flags.filter : undefined)]
      : [];
  },
};
