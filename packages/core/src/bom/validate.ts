import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Validation } from '@cyclonedx/cyclonedx-library';
import { validateXML } from 'xmllint-wasm';
import { MlbomError } from '../errors.js';
import { librarySpec, type OutputFormat, type SpecVersion, specVersionSchema } from './spec.js';

export interface BomValidationIssue {
  /** JSON pointer (JSON) or `line N` (XML) of the offending part. */
  path: string;
  message: string;
}

export interface BomValidationResult {
  valid: boolean;
  format: OutputFormat;
  specVersion: SpecVersion;
  issues: BomValidationIssue[];
}

const require = createRequire(import.meta.url);
/** The official schemas ship inside @cyclonedx/cyclonedx-library; validate against exactly those. */
const schemaDir = join(dirname(require.resolve('@cyclonedx/cyclonedx-library/package.json')), 'res', 'schema');

interface AjvError {
  instancePath?: string;
  message?: string;
  params?: Record<string, unknown>;
}

function jsonIssues(error: unknown): BomValidationIssue[] {
  const errors = Array.isArray(error) ? (error as AjvError[]) : [error as AjvError];
  return errors.map((e) => {
    const params = e.params && Object.keys(e.params).length > 0 ? ` ${JSON.stringify(e.params)}` : '';
    return { path: e.instancePath || '/', message: `${e.message ?? 'invalid'}${params}` };
  });
}

async function validateXmlText(text: string, version: SpecVersion): Promise<BomValidationIssue[]> {
  const [bomXsd, spdxXsd] = await Promise.all([
    readFile(join(schemaDir, `bom-${version}.SNAPSHOT.xsd`), 'utf8'),
    readFile(join(schemaDir, 'spdx.SNAPSHOT.xsd'), 'utf8'),
  ]);
  const result = await validateXML({
    xml: [{ fileName: 'bom.xml', contents: text }],
    schema: [{ fileName: `bom-${version}.SNAPSHOT.xsd`, contents: bomXsd }],
    preload: [{ fileName: 'spdx.SNAPSHOT.xsd', contents: spdxXsd }],
  });
  return result.errors.map((e) => ({
    path: e.loc ? `line ${e.loc.lineNumber}` : '/',
    message: e.message,
  }));
}

/** Reads the declared spec version of a BOM without trusting the rest of it. */
export function detectBom(text: string): { format: OutputFormat; specVersion: string | undefined } {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('<')) {
    const match = /xmlns\s*=\s*["']http:\/\/cyclonedx\.org\/schema\/bom\/(\d+\.\d+)["']/.exec(trimmed.slice(0, 4096));
    return { format: 'xml', specVersion: match?.[1] };
  }
  try {
    const parsed: unknown = JSON.parse(text);
    const declared =
      typeof parsed === 'object' && parsed !== null ? (parsed as { specVersion?: unknown }).specVersion : undefined;
    return { format: 'json', specVersion: typeof declared === 'string' ? declared : undefined };
  } catch {
    return { format: 'json', specVersion: undefined };
  }
}

/**
 * Validates a serialized BOM against the official CycloneDX schema of its declared (or given) spec
 * version: the strict JSON schema, or the XSD for XML.
 * @throws {MlbomError} INVALID_INPUT when the spec version is missing or unsupported
 */
export async function validateBom(
  text: string,
  options: { format?: OutputFormat; specVersion?: SpecVersion } = {},
): Promise<BomValidationResult> {
  const detected = detectBom(text);
  const format = options.format ?? detected.format;
  const version = specVersionSchema.safeParse(options.specVersion ?? detected.specVersion);
  if (!version.success) {
    throw new MlbomError(
      'INVALID_INPUT',
      `unsupported or missing CycloneDX spec version "${detected.specVersion ?? ''}" (supported: ${specVersionSchema.options.join(', ')})`,
    );
  }
  const specVersion = version.data;
  if (format === 'json') {
    try {
      JSON.parse(text);
    } catch (err) {
      return { valid: false, format, specVersion, issues: [{ path: '/', message: `not JSON: ${String(err)}` }] };
    }
    const error = await new Validation.JsonStrictValidator(librarySpec(specVersion)).validate(text);
    const issues = error === null ? [] : jsonIssues(error);
    return { valid: issues.length === 0, format, specVersion, issues };
  }
  const issues = await validateXmlText(text, specVersion);
  return { valid: issues.length === 0, format, specVersion, issues };
}
