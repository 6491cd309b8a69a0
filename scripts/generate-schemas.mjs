// Writes the JSON Schemas mlbom publishes (from the zod schemas in the built packages) into schemas/.
// With --check, fails when the committed files differ from what the code generates (drift).
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateOptionsSchema, inventorySchema } from '@mlbom/core';
import { huggingFaceOptionsSchema } from '@mlbom/huggingface';
import { localOptionsSchema } from '@mlbom/local';
import { mlflowOptionsSchema } from '@mlbom/mlflow';
import { z } from 'zod';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');

const schemas = {
  'generate-options.schema.json': { schema: generateOptionsSchema, title: 'mlbom generate options' },
  'local-source-options.schema.json': { schema: localOptionsSchema, title: 'mlbom local source options' },
  'huggingface-source-options.schema.json': {
    schema: huggingFaceOptionsSchema,
    title: 'mlbom Hugging Face source options',
  },
  'mlflow-source-options.schema.json': { schema: mlflowOptionsSchema, title: 'mlbom MLflow source options' },
  'inventory.schema.json': { schema: inventorySchema, title: 'mlbom inventory (what a source returns)' },
};

let drift = 0;
for (const [file, { schema, title }] of Object.entries(schemas)) {
  const json = {
    $id: `https://mlbom.dev/schemas/${file}`,
    title,
    ...z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12' }),
  };
  const text = `${JSON.stringify(json, null, 2)}\n`;
  const path = join(root, 'schemas', file);
  if (check) {
    const committed = await readFile(path, 'utf8').catch(() => '');
    if (committed !== text) {
      console.error(`schemas/${file} is out of date: run pnpm schemas:generate`);
      drift++;
    }
  } else {
    await writeFile(path, text);
    console.error(`wrote schemas/${file}`);
  }
}
process.exitCode = drift > 0 ? 1 : 0;
