/**
 * The environment files MLflow writes beside `MLmodel` (`requirements.txt`, `conda.yaml`,
 * `python_env.yaml`), read with @mlbom/formats' readers so each format is parsed in one place.
 */
import type { PackageAsset, Problem, Property } from '@mlbom/core';
import { parseCondaEnvironment, parsePythonEnv, parseRequirements, requirementPackages } from '@mlbom/formats';
import { pythonPackage } from './mlmodel.js';

export interface EnvironmentFacts {
  packages: PackageAsset[];
  properties: Property[];
  problems: Problem[];
}

/** `requirements.txt` → `pkg:pypi` packages (`-r` includes are not followed: MLflow writes none). */
export function readRequirements(text: string, subject: string): EnvironmentFacts {
  const parsed = parseRequirements(text, subject);
  return {
    packages: requirementPackages(parsed.requirements),
    properties: parsed.properties,
    problems: parsed.problems,
  };
}

/** MLflow's `conda.yaml`: conda packages, the pip list, channels. */
export function readCondaYaml(text: string, subject: string): EnvironmentFacts {
  const { packages, properties, problems } = parseCondaEnvironment(text, subject);
  return { packages, properties, problems };
}

/**
 * MLflow's `python_env.yaml`: build dependencies and dependencies (its `-r requirements.txt` line
 * names the file read beside it), and the Python version as a `pkg:generic/python` component.
 */
export function readPythonEnvYaml(text: string, subject: string): EnvironmentFacts {
  const { packages, properties, problems } = parsePythonEnv(text, subject);
  const python = properties.find((p) => p.name === 'mlbom:python:version')?.value;
  return {
    packages: python ? [pythonPackage(python), ...packages] : packages,
    properties: properties.filter((p) => p.name !== 'mlbom:python:version'),
    problems,
  };
}
