import { describe, expect, it } from 'vitest';
import {
  condaPackage,
  findModelReferences,
  findNotebookModelReferences,
  parseCondaEnvironment,
  parsePyproject,
  parsePythonEnv,
  readRequirementsTree,
  referencedModels,
  resolveInside,
} from './python.js';

const keys = (s: { packages: { key: string }[] }) => s.packages.map((p) => p.key);

describe('pyproject.toml', () => {
  it('reads PEP 621 dependencies, optional groups and requires-python', () => {
    const s = parsePyproject(
      `[project]
name = "my-app"
version = "0.1.0"
requires-python = ">=3.10"
dependencies = ["torch==2.1.0", "Transformers[torch]>=4.40,<5", "numpy; python_version < '3.13'"]
[project.optional-dependencies]
onnx = ["onnxruntime==1.17.1"]
[dependency-groups]
test = ["pytest>=8"]
`,
      'pyproject.toml',
    );
    expect(keys(s)).toEqual([
      'pkg:pypi/torch@2.1.0',
      'pkg:pypi/transformers',
      'pkg:pypi/numpy',
      'pkg:pypi/onnxruntime@1.17.1',
      'pkg:pypi/pytest',
    ]);
    expect(s.packages[1]).toMatchObject({ role: 'framework', versionSpec: 'Transformers[torch]>=4.40,<5' });
    expect(s.packages[3]?.properties).toContainEqual({ name: 'mlbom:optionalGroup', value: 'onnx' });
    expect(s.packages[4]?.properties).toContainEqual({ name: 'mlbom:dependencyGroup', value: 'test' });
    expect(s.properties).toEqual([
      { name: 'mlbom:project:name', value: 'my-app' },
      { name: 'mlbom:project:version', value: '0.1.0' },
      { name: 'mlbom:requiresPython', value: '>=3.10' },
    ]);
    expect(s.problems).toEqual([]);
  });

  it('reads Poetry dependencies: bare versions are pins, carets stay ranges, groups are marked', () => {
    const s = parsePyproject(
      `[tool.poetry]
name = "p"
version = "1.0"
[tool.poetry.dependencies]
python = "^3.10"
torch = "2.1.0"
scikit_learn = "^1.2"
lightgbm = { version = "~4.1", extras = ["dask"], optional = true }
mylib = { git = "https://user:tok@example.com/x.git" }
[tool.poetry.group.dev.dependencies]
black = "*"
`,
      'pyproject.toml',
    );
    expect(s.packages.map((p) => [p.key, p.versionSpec])).toEqual([
      ['pkg:pypi/torch@2.1.0', undefined],
      ['pkg:pypi/scikit-learn', 'scikit-learn^1.2'],
      ['pkg:pypi/lightgbm', 'lightgbm~4.1'],
      ['pkg:pypi/mylib', undefined],
      ['pkg:pypi/black', undefined],
    ]);
    expect(s.properties).toContainEqual({ name: 'mlbom:requiresPython', value: '^3.10' });
    expect(JSON.stringify(s)).not.toContain('tok@');
    expect(s.packages[4]?.properties).toContainEqual({ name: 'mlbom:dependencyGroup', value: 'dev' });
  });

  it('reports bad TOML as a problem', () => {
    const s = parsePyproject('[project\nname=', 'pyproject.toml');
    expect(s.packages).toEqual([]);
    expect(s.problems.map((p) => p.code)).toEqual(['PYPROJECT_INVALID']);
  });
});

describe('conda', () => {
  it('reads conda match specs as pkg:conda and the pip section as pkg:pypi', () => {
    const s = parseCondaEnvironment(
      `name: train
channels: [pytorch, conda-forge]
dependencies:
  - python=3.10.13
  - pytorch::pytorch=2.1.0=py3.10_cuda11.8_cudnn8.7.0_0
  - numpy==1.26.4
  - scipy >=1.10
  - pip
  - pip:
    - transformers==4.40.0
    - -r requirements-extra.txt
`,
      'environment.yml',
    );
    expect(s.packages.map((p) => [p.key, p.ecosystem, p.role])).toEqual([
      ['pkg:conda/python@3.10.13', 'conda', 'library'],
      ['pkg:conda/pytorch@2.1.0?build=py3.10_cuda11.8_cudnn8.7.0_0&channel=pytorch', 'conda', 'framework'],
      ['pkg:conda/numpy@1.26.4', 'conda', 'library'],
      ['pkg:conda/scipy', 'conda', 'library'],
      ['pkg:conda/pip', 'conda', 'library'],
      ['pkg:pypi/transformers@4.40.0', 'pypi', 'framework'],
    ]);
    expect(s.packages[3]?.versionSpec).toBe('scipy>=1.10');
    expect(s.properties).toEqual([
      { name: 'mlbom:conda:name', value: 'train' },
      { name: 'mlbom:conda:channels', value: 'pytorch,conda-forge' },
    ]);
    expect(s.includes).toEqual([{ kind: 'requirements', path: 'requirements-extra.txt', line: 2 }]);
  });

  it('parses the space-separated form', () => {
    expect(condaPackage('numpy 1.24.2 py311h_0', 'x')).toMatchObject({
      key: 'pkg:conda/numpy@1.24.2?build=py311h_0',
      version: '1.24.2',
    });
  });

  it('reports YAML that is not an environment', () => {
    expect(parseCondaEnvironment('- a\n- b', 'conda.yaml').problems.map((p) => p.code)).toEqual(['CONDA_INVALID']);
    expect(parseCondaEnvironment('a: [', 'conda.yaml').problems.map((p) => p.code)).toEqual(['CONDA_INVALID']);
  });
});

describe('python_env.yaml', () => {
  it('reads python, build dependencies and dependencies', () => {
    const s = parsePythonEnv(
      'python: 3.10.12\nbuild_dependencies:\n  - pip==23.3.1\n  - setuptools\ndependencies:\n  - -r requirements.txt\n  - mlflow==2.12.1\n',
      'python_env.yaml',
    );
    expect(keys(s)).toEqual(['pkg:pypi/pip@23.3.1', 'pkg:pypi/setuptools', 'pkg:pypi/mlflow@2.12.1']);
    expect(s.packages[0]?.properties).toContainEqual({ name: 'mlbom:scope', value: 'build' });
    expect(s.properties).toEqual([{ name: 'mlbom:python:version', value: '3.10.12' }]);
    expect(s.includes).toEqual([{ kind: 'requirements', path: 'requirements.txt', line: 1 }]);
  });
});

describe('requirements includes', () => {
  const files: Record<string, string> = {
    'requirements.txt': '-r base/requirements-base.txt\n-c constraints.txt\ntorch==2.1.0\n',
    'base/requirements-base.txt': 'numpy==1.26.4\n-r ../requirements.txt\n-r ../../outside.txt\n-r missing.txt\n',
  };
  it('follows -r inside the root, once each, noting constraints, escapes and missing files', async () => {
    const s = await readRequirementsTree('requirements.txt', async (p) => files[p]);
    expect(s.files).toEqual(['requirements.txt', 'base/requirements-base.txt']);
    expect(keys(s)).toEqual(['pkg:pypi/torch@2.1.0', 'pkg:pypi/numpy@1.26.4']);
    expect(s.problems.map((p) => [p.subject, p.message])).toEqual([
      ['base/requirements-base.txt', 'line 3: -r ../../outside.txt not followed (outside the scanned folder)'],
      ['base/requirements-base.txt', 'line 4: -r missing.txt not followed (cannot read it)'],
      ['requirements.txt', 'line 2: -c constraints.txt not followed (constraints file)'],
    ]);
  });

  it('stops at the depth limit', async () => {
    const chain = async (p: string) => `-r ${Number(p.replace(/\D/g, '')) + 1}.txt\nx${p.replace(/\D/g, '')}==1\n`;
    const s = await readRequirementsTree('0.txt', chain);
    expect(s.files).toHaveLength(6);
    expect(s.problems.at(-1)?.message).toContain('nested too deep');
  });

  it('resolves paths without leaving the root', () => {
    expect(resolveInside('a/b/r.txt', '../c.txt')).toBe('a/c.txt');
    expect(resolveInside('r.txt', '../c.txt')).toBeUndefined();
    expect(resolveInside('r.txt', '/etc/passwd')).toBeUndefined();
    expect(resolveInside('r.txt', 'https://x/y.txt')).toBeUndefined();
  });
});

describe('model references in code', () => {
  const code = `from transformers import AutoModel, pipeline
from huggingface_hub import hf_hub_download
model = AutoModel.from_pretrained("google-bert/bert-base-uncased")
tok = AutoTokenizer.from_pretrained(
    'gpt2',
    revision="main",
)
clf = pipeline("sentiment-analysis", model="distilbert/distilbert-base-uncased-finetuned-sst-2-english")
gen = pipeline(task="text-generation", model='meta-llama/Llama-3.1-8B')
p = hf_hub_download(repo_id="TheBloke/Llama-2-7B-GGUF", filename="llama-2-7b.Q4_K_M.gguf")
d = hf_hub_download("stanfordnlp/imdb", "x.parquet", repo_type="dataset")
local = AutoModel.from_pretrained("./checkpoints/best")
var = AutoModel.from_pretrained(model_dir)
# old = AutoModel.from_pretrained("org/commented-out")
`;

  it('finds from_pretrained, pipeline and hf_hub_download ids with their lines', () => {
    expect(findModelReferences(code, 'train.py').map((r) => [r.id, r.line, r.via])).toEqual([
      ['google-bert/bert-base-uncased', 3, 'from_pretrained'],
      ['gpt2', 4, 'from_pretrained'],
      ['distilbert/distilbert-base-uncased-finetuned-sst-2-english', 8, 'pipeline'],
      ['meta-llama/Llama-3.1-8B', 9, 'pipeline'],
      ['TheBloke/Llama-2-7B-GGUF', 10, 'hf_hub_download'],
    ]);
  });

  it('reads notebooks cell by cell', () => {
    const nb = JSON.stringify({
      cells: [
        { cell_type: 'markdown', source: ['from_pretrained("org/in-markdown")'] },
        { cell_type: 'code', source: ['import x\n', 'm = X.from_pretrained("org/model-a")\n'] },
      ],
    });
    expect(findNotebookModelReferences(nb, 'nb.ipynb').references).toEqual([
      { id: 'org/model-a', location: 'nb.ipynb#cell=2', line: 2, via: 'from_pretrained' },
    ]);
    expect(findNotebookModelReferences('{', 'nb.ipynb').problems.map((p) => p.code)).toEqual(['NOTEBOOK_INVALID']);
  });

  it('makes one referenced model per id with every occurrence', () => {
    const refs = [
      ...findModelReferences('a = M.from_pretrained("org/m")\n', 'a.py'),
      ...findModelReferences('\n\nb = M.from_pretrained("org/m")\n', 'b.py'),
    ];
    expect(referencedModels(refs)).toEqual([
      {
        kind: 'model',
        key: 'pkg:huggingface/org/m',
        name: 'm',
        group: 'org',
        purl: 'pkg:huggingface/org/m',
        externalReferences: [{ type: 'website', url: 'https://huggingface.co/org/m' }],
        properties: [{ name: 'mlbom:referenced', value: 'code' }],
        occurrences: [
          { location: 'a.py', line: 1 },
          { location: 'b.py', line: 3 },
        ],
        files: [],
      },
    ]);
  });
});
