// Using mlbom as a library: inventory a folder, then read what was found before writing the BOM.
// Run from the repository root after `pnpm install`:  node examples/library-usage.mjs [dir]
import { generateBom } from '@mlbom/core';
import { local } from '@mlbom/local';

const target = process.argv[2] ?? new URL('./tiny-bert', import.meta.url).pathname;

const { text, inventory, validation } = await generateBom([local({ hash: true })], {
  targets: [target],
  specVersion: '1.6',
  outputFormat: 'json',
  reproducible: true,
});

for (const model of inventory.models) {
  const weights = model.files.filter((f) => !['config', 'model-card', 'requirements', 'tokenizer'].includes(f.format));
  console.log(
    `${model.name}: ${weights.map((f) => `${f.path} (${f.format}, sha256 ${f.sha256?.slice(0, 12)}…)`).join(', ')}`,
  );
}
console.log(`datasets: ${inventory.datasets.map((d) => d.name).join(', ') || 'none'}`);
console.log(`packages: ${inventory.packages.map((p) => `${p.name}${p.version ? `==${p.version}` : ''}`).join(', ')}`);
console.log(
  `BOM: CycloneDX ${validation.specVersion} ${validation.format}, ${text.length} bytes, valid=${validation.valid}`,
);
