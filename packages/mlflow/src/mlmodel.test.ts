import { describe, expect, it } from 'vitest';
import { readCondaYaml, readPythonEnvYaml } from './env.js';
import { huggingFaceBase, mlmodelFacts, parseMlmodel } from './mlmodel.js';

const mlmodel = `
artifact_path: model
flavors:
  python_function:
    env: {conda: conda.yaml, virtualenv: python_env.yaml}
    loader_module: mlflow.transformers
    python_version: 3.10.12
  transformers:
    task: text-classification
    instance_type: TextClassificationPipeline
    pipeline_model_type: BertForSequenceClassification
    source_model_name: google-bert/bert-base-uncased
    source_model_revision: 86B5E0934494BD15C9632B12F734A8A67F723594
    transformers_version: 4.44.0
    torch_dtype: torch.float16
  sklearn: {sklearn_version: 1.5.2, serialization_format: skops}
  pytorch: {pytorch_version: 2.3.0}
  xgboost: {xgb_version: 2.1.1}
  spacy: {spacy_version: 3.7.5}
mlflow_version: 3.4.0
model_uuid: 0badaf06aa254da9811188d6c060a176
model_id: m-c341a2270e7b421f8333e76e6580b504
utc_time_created: '2024-06-10 20:29:00.995838'
signature:
  inputs: '[{"type": "double", "name": "amount", "required": true}]'
  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]'
  params: '[{"name": "top_k", "type": "long", "default": 1, "shape": null}]'
`;

describe('MLmodel', () => {
  it('turns flavors into framework versions, the signature into inputs/outputs, and finds the Hub base', () => {
    const info = parseMlmodel(mlmodel, 'MLmodel');
    expect(info.problems).toEqual([]);
    expect(info.envFiles).toEqual({ conda: 'conda.yaml', virtualenv: 'python_env.yaml' });
    expect(info.modelId).toBe('m-c341a2270e7b421f8333e76e6580b504');
    const facts = mlmodelFacts(info, 'MLmodel');
    expect(facts.packages.map((p) => `${p.key} ${p.role}`).sort()).toEqual([
      'pkg:generic/python@3.10.12 framework',
      'pkg:pypi/mlflow@3.4.0 framework',
      'pkg:pypi/scikit-learn@1.5.2 framework',
      'pkg:pypi/spacy@3.7.5 library',
      'pkg:pypi/torch@2.3.0 framework',
      'pkg:pypi/transformers@4.44.0 framework',
      'pkg:pypi/xgboost@2.1.1 framework',
    ]);
    expect(facts.card).toEqual({
      task: 'text-classification',
      modelArchitecture: 'BertForSequenceClassification',
      inputs: ['{"type":"double","name":"amount","required":true}'],
      outputs: ['{"type":"tensor","tensor-spec":{"dtype":"int64","shape":[-1]}}'],
    });
    expect(facts.ancestor).toEqual({
      key: 'pkg:huggingface/google-bert/bert-base-uncased@86b5e0934494bd15c9632b12f734a8a67f723594',
      name: 'bert-base-uncased',
      group: 'google-bert',
      version: '86b5e0934494bd15c9632b12f734a8a67f723594',
      purl: 'pkg:huggingface/google-bert/bert-base-uncased@86b5e0934494bd15c9632b12f734a8a67f723594',
      url: 'https://huggingface.co/google-bert/bert-base-uncased',
    });
    const props = Object.fromEntries(facts.properties.map((p) => [p.name, p.value]));
    expect(props).toMatchObject({
      'mlbom:mlflow:flavors': 'python_function,pytorch,sklearn,spacy,transformers,xgboost',
      'mlbom:mlflow:model-uuid': '0badaf06aa254da9811188d6c060a176',
      'mlbom:mlflow:serialization-format': 'skops',
      'mlbom:mlflow:transformers:torch-dtype': 'torch.float16',
      'mlbom:mlflow:signature:params': '[{"name": "top_k", "type": "long", "default": 1, "shape": null}]',
    });
  });

  it('reports what it cannot read instead of throwing', () => {
    expect(parseMlmodel('flavors: [unclosed', 'x/MLmodel').problems[0]?.code).toBe('MLMODEL_INVALID');
    expect(parseMlmodel('- a list', 'x/MLmodel').problems[0]?.message).toBe('MLmodel is not a YAML mapping');
    expect(parseMlmodel('mlflow_version: 2.0', 'x/MLmodel').problems[0]?.message).toBe('MLmodel has no flavors');
    const bad = parseMlmodel("flavors: {}\nsignature: {inputs: 'not json'}", 'x/MLmodel');
    const facts = mlmodelFacts(bad, 'x/MLmodel');
    expect(facts.card.inputs).toEqual(['not json']);
    expect(facts.problems[0]?.message).toBe('signature inputs is not valid JSON');
    // Env paths that leave the model folder are ignored.
    const escaping = parseMlmodel('flavors: {python_function: {env: ../../etc/passwd}}', 'x');
    expect(escaping.envFiles).toEqual({});
    expect(parseMlmodel('flavors: {python_function: {env: conda.yaml}}', 'x').envFiles).toEqual({
      conda: 'conda.yaml',
    });
  });

  it('keeps a Hub base without an org and a non-Hub name apart', () => {
    expect(huggingFaceBase('gpt2', undefined)).toMatchObject({ purl: 'pkg:huggingface/gpt2', name: 'gpt2' });
    expect(huggingFaceBase('/mnt/models/my base', undefined)).toEqual({
      key: 'base-model:/mnt/models/my base',
      name: '/mnt/models/my base',
    });
  });
});

describe('environment files (read with @mlbom/formats)', () => {
  it('reads conda.yaml: conda packages and the pip list', () => {
    const facts = readCondaYaml(
      'channels: [conda-forge]\ndependencies:\n- python=3.10.12\n- pip<=24.0\n- pip:\n  - mlflow==2.16.2\n  - scikit-learn>=1.5\nname: mlflow-env\n',
      'conda.yaml',
    );
    expect(facts.problems).toEqual([]);
    expect(facts.packages.map((p) => p.key)).toEqual(
      expect.arrayContaining([
        'pkg:conda/python@3.10.12',
        'pkg:conda/pip',
        'pkg:pypi/mlflow@2.16.2',
        'pkg:pypi/scikit-learn',
      ]),
    );
    expect(facts.properties).toContainEqual({ name: 'mlbom:conda:channels', value: 'conda-forge' });
    expect(readCondaYaml('[', 'conda.yaml').problems.length).toBeGreaterThan(0);
  });

  it('reads python_env.yaml, the Python version as a component', () => {
    const facts = readPythonEnvYaml(
      'python: 3.11.9\nbuild_dependencies: [pip==24.0, setuptools]\ndependencies: [-r requirements.txt, torch==2.3.1]\n',
      'python_env.yaml',
    );
    expect(facts.packages.map((p) => p.key)).toEqual(
      expect.arrayContaining([
        'pkg:generic/python@3.11.9',
        'pkg:pypi/pip@24.0',
        'pkg:pypi/setuptools',
        'pkg:pypi/torch@2.3.1',
      ]),
    );
    expect(facts.properties.map((p) => p.name)).not.toContain('mlbom:python:version');
    expect(facts.problems).toEqual([]);
  });
});
