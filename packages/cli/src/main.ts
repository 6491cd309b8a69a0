import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import {
  DEFAULT_SPEC_VERSION,
  fsError,
  generateBom,
  isMlbomError,
  MlbomError,
  outputFormatSchema,
  type Severity,
  specVersionSchema,
  validateBom,
} from '@mlbom/core';
import { SEVERITY_RANK } from '@mlbom/scanner';
import { Command, CommanderError, Option } from 'commander';
import { registerScanCommand } from './commands/scan.js';
import { type LogLevel, stderrLogger } from './logger.js';
import { ttyProgress } from './progress.js';
import { sourcePlugins } from './sources/index.js';

export const EXIT_OK = 0;
/** Invalid BOM or policy failure. */
export const EXIT_INVALID = 1;
/** Bad usage, or a source that cannot be read at all. */
export const EXIT_USAGE = 2;

export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WriteStream;
  /** The only place mlbom reads the environment. */
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

const require = createRequire(import.meta.url);
const { version } = require('../package.json') as { version: string };

function exitCodeFor(error: MlbomError): number {
  switch (error.code) {
    case 'BOM_INVALID':
      return EXIT_INVALID;
    default:
      return EXIT_USAGE;
  }
}

interface GenerateFlags extends Record<string, unknown> {
  outputFile?: string;
  outputFormat?: 'json' | 'xml';
  specVersion: '1.5' | '1.6' | '1.7';
  outputReproducible: boolean;
  name?: string;
  failOn: Severity | 'none';
  /** Set by the local source's --no-scan. */
  scan?: boolean;
  quiet: boolean;
  verbose: boolean;
}

function logLevel(flags: { quiet: boolean; verbose: boolean }, env: NodeJS.ProcessEnv): LogLevel {
  if (flags.quiet) return 'error';
  if (flags.verbose || env.MLBOM_DEBUG === '1') return 'debug';
  return 'warn';
}

/** Runs the CLI; resolves to the process exit code. Never calls process.exit. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const writeErr = (s: string) => {
    io.stderr.write(s);
  };
  let exitCode = EXIT_OK;
  const program = new Command()
    .name('mlbom')
    .description('Generate and validate CycloneDX ML-BOMs: an inventory of ML models, datasets and frameworks')
    .version(version)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr,
    });

  const generate = program
    .command('generate')
    .description('inventory models in SOURCE(s) and write a CycloneDX ML-BOM (stdout by default)')
    .argument('[sources...]', 'directories or model files to inventory (default: .)')
    .option('-o, --output-file <file>', 'write the BOM to a file instead of stdout')
    .addOption(
      new Option(
        '--output-format <format>',
        'json or xml (default: from the output file extension, else json)',
      ).choices(outputFormatSchema.options),
    )
    .addOption(
      new Option('--spec-version <version>', 'CycloneDX spec version')
        .choices(specVersionSchema.options)
        .default(DEFAULT_SPEC_VERSION),
    )
    .option('--output-reproducible', 'no timestamp, stable serial number, sorted lists', false)
    .option('--name <name>', 'name of the BOM subject (metadata.component); default: the first source')
    .addOption(
      new Option(
        '--fail-on <severity>',
        'after writing the BOM, exit 1 when a scan finding is at or above this severity (a CI gate)',
      )
        .choices(['critical', 'high', 'medium', 'low', 'none'])
        .default('none'),
    )
    .option('-q, --quiet', 'print errors only', false)
    .option('-v, --verbose', 'print debug messages', false)
    .action(async (given: string[], flags: GenerateFlags) => {
      if (flags.failOn !== 'none' && flags.scan === false) {
        throw new MlbomError('INVALID_INPUT', '--fail-on needs the scan: drop --no-scan');
      }
      const logger = stderrLogger(logLevel(flags, io.env), writeErr);
      const implied = sourcePlugins.flatMap((p) => p.impliedTargets?.(flags, io.env) ?? []);
      const sources = given.length > 0 || implied.length > 0 ? [...given, ...implied] : ['.'];
      const outputFormat = flags.outputFormat ?? (flags.outputFile?.toLowerCase().endsWith('.xml') ? 'xml' : 'json');
      const progress = ttyProgress(io.stderr);
      const firstSource = sources[0] ?? '.';
      const result = await generateBom(
        sourcePlugins.map((p) => p.make(flags, io.env)),
        {
          targets: sources,
          specVersion: flags.specVersion,
          outputFormat,
          reproducible: flags.outputReproducible,
          subjectName: flags.name ?? (firstSource === '.' ? 'ml-inventory' : firstSource.replace(/\/+$/, '')),
        },
        { logger, progress, ...(io.signal ? { signal: io.signal } : {}) },
      ).finally(() => progress.done());
      if (flags.outputFile) {
        try {
          await writeFile(flags.outputFile, result.text);
        } catch (err) {
          throw fsError(err, flags.outputFile, 'write');
        }
      } else {
        io.stdout.write(result.text);
      }
      const inv = result.inventory;
      logger.info(
        `${inv.models.length} model(s), ${inv.datasets.length} dataset(s), ${inv.packages.length} package(s); CycloneDX ${flags.specVersion} ${outputFormat}`,
      );
      if (flags.failOn !== 'none') {
        const threshold = SEVERITY_RANK[flags.failOn];
        const failing = inv.models.flatMap((m) =>
          m.files.flatMap((f) => f.findings.filter((finding) => SEVERITY_RANK[finding.severity] >= threshold)),
        );
        if (failing.length > 0) {
          logger.error(`${failing.length} scan finding(s) at or above ${flags.failOn} (--fail-on ${flags.failOn})`);
          exitCode = EXIT_INVALID;
        }
      }
    });
  for (const plugin of sourcePlugins) plugin.register(generate);

  program
    .command('validate')
    .description('check a CycloneDX BOM (JSON or XML) against the schema of its declared spec version')
    .argument('<file>', 'BOM file to validate ("-" for stdin)')
    .addOption(
      new Option('--spec-version <version>', 'override the declared spec version').choices(specVersionSchema.options),
    )
    .option('-q, --quiet', 'print nothing on success', false)
    .action(async (file: string, flags: { specVersion?: '1.5' | '1.6' | '1.7'; quiet: boolean }) => {
      let text: string;
      try {
        text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
      } catch (err) {
        throw fsError(err, file);
      }
      const result = await validateBom(text, flags.specVersion ? { specVersion: flags.specVersion } : {});
      if (result.valid) {
        if (!flags.quiet) writeErr(`${file}: valid CycloneDX ${result.specVersion} ${result.format}\n`);
        return;
      }
      writeErr(
        `${file}: invalid CycloneDX ${result.specVersion} ${result.format} (${result.issues.length} error(s))\n`,
      );
      for (const issue of result.issues) writeErr(`  ${issue.path}: ${issue.message}\n`);
      exitCode = EXIT_INVALID;
    });

  registerScanCommand(program, { ...io, version }, (code) => {
    exitCode = code;
  });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are successes; everything else commander rejects is bad usage.
      return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    if (isMlbomError(err)) {
      writeErr(`mlbom: error: ${err.message}\n`);
      return exitCodeFor(err);
    }
    writeErr(`mlbom: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return EXIT_INVALID;
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
