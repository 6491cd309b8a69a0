import { local } from '@mlbom/local';
import type { SourcePlugin } from './types.js';

export const localPlugin: SourcePlugin = {
  name: 'local',
  register(command) {
    command
      .option('--no-hash', 'skip SHA-256 hashing of files (sizes are still recorded)')
      .option('--no-scan', 'skip the static security scan of model files (pickle, Keras, SavedModel, GGUF)')
      .option('--include <glob...>', 'only files matching these glob patterns (relative to each source)')
      .option('--exclude <glob...>', 'skip files matching these glob patterns');
  },
  make(flags) {
    const include = flags.include as string[] | undefined;
    const exclude = flags.exclude as string[] | undefined;
    return local({
      hash: flags.hash !== false,
      scan: flags.scan !== false,
      ...(include ? { include } : {}),
      ...(exclude ? { exclude } : {}),
    });
  },
};
