import { huggingFacePlugin } from './huggingface.js';
import { localPlugin } from './local.js';
import { mlflowPlugin } from './mlflow.js';
import type { SourcePlugin } from './types.js';

export type { SourcePlugin } from './types.js';

/** Sources in the order they are asked whether they can handle a target; local (paths) last. */
export const sourcePlugins: SourcePlugin[] = [huggingFacePlugin, mlflowPlugin, localPlugin];
