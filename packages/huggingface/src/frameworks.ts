import { type PackageAsset, pypiPackage } from '@mlbom/core';
import { type FrameworkHint, normalizeVersion } from '@mlbom/formats';

/**
 * The package a model file says it was written with (a @mlbom/formats framework hint: torch from a
 * pickle, the ONNX producer, `_sklearn_version`...), with the file and what in it says so as
 * `mlbom:evidence`. A PyPI name gives a `pkg:pypi` purl (role `framework` for ML frameworks); a
 * producer that is no Python package, a `pkg:generic` one. Shared by the local and Hub sources.
 */
export function frameworkPackage(hint: FrameworkHint, filePath: string): PackageAsset {
  const evidence = { name: 'mlbom:evidence', value: `${filePath}: ${hint.evidence}` };
  if (hint.ecosystem === 'generic') {
    const name = hint.name.slice(0, 100);
    const purl = `pkg:generic/${encodeURIComponent(name)}${hint.version ? `@${encodeURIComponent(hint.version)}` : ''}`;
    return {
      kind: 'package',
      key: purl,
      name,
      ...(hint.version ? { version: hint.version } : {}),
      purl,
      role: 'framework',
      ecosystem: 'generic',
      properties: [evidence],
    };
  }
  const version = hint.version ? normalizeVersion(hint.version) : undefined;
  return pypiPackage({ name: hint.name, exactVersion: version, properties: [evidence] });
}
