import { describe, expect, it } from 'vitest';
import { parseRequirements, redactUrl, requirementPackages } from './requirements.js';

const parse = (text: string) => parseRequirements(text, 'requirements.txt');

describe('parseRequirements', () => {
  it('turns == pins into exact versions and keeps ranges as written', () => {
    const { requirements, problems } = parse('torch==2.1.0\ntransformers>=4.40,<5\nnumpy\nscipy ~= 1.11\n');
    expect(problems).toEqual([]);
    expect(requirements).toMatchObject([
      { name: 'torch', exactVersion: '2.1.0' },
      { name: 'transformers', versionSpec: 'transformers>=4.40,<5' },
      { name: 'numpy' },
      { name: 'scipy', versionSpec: 'scipy~=1.11' },
    ]);
    expect(requirements[2]?.exactVersion).toBeUndefined();
    expect(requirements[2]?.versionSpec).toBeUndefined();
  });

  it('treats wildcard and multi-clause == as ranges, === as a pin', () => {
    const { requirements } = parse('a==1.*\nb==1.0,!=1.0.1\nc===1.0-custom\nd==2.0.0+cu118');
    expect(requirements.map((r) => [r.exactVersion, r.versionSpec])).toEqual([
      [undefined, 'a==1.*'],
      [undefined, 'b==1.0,!=1.0.1'],
      ['1.0-custom', undefined],
      ['2.0.0+cu118', undefined],
    ]);
  });

  it('strips comments and environment markers, keeping the marker', () => {
    const { requirements } = parse(
      '# a comment\n\ntokenizers==0.15.2 ; python_version >= "3.8"  # trailing\nuvloop; sys_platform != "win32"\n',
    );
    expect(requirements).toMatchObject([
      { name: 'tokenizers', exactVersion: '0.15.2', marker: 'python_version >= "3.8"' },
      { name: 'uvloop', marker: 'sys_platform != "win32"' },
    ]);
  });

  it('handles extras, parenthesised specifiers and odd spacing', () => {
    const { requirements } = parse('transformers[torch, sentencepiece] >= 4.0\nfoo (>=1.0, <2)\nBar_Baz.Qux==0.1');
    expect(requirements).toMatchObject([
      {
        name: 'transformers',
        extras: ['torch', 'sentencepiece'],
        versionSpec: 'transformers[torch,sentencepiece]>=4.0',
      },
      { name: 'foo', versionSpec: 'foo>=1.0,<2' },
      { name: 'Bar_Baz.Qux', exactVersion: '0.1' },
    ]);
  });

  it('joins continuation lines and drops per-requirement hashes', () => {
    const { requirements } = parse(
      'torch==2.1.0 \\\n    --hash=sha256:abc \\\n    --hash=sha256:def\nnumpy==1.26.0 --hash sha256:123\n',
    );
    expect(requirements).toMatchObject([
      { name: 'torch', exactVersion: '2.1.0', line: 1 },
      { name: 'numpy', exactVersion: '1.26.0', line: 4 },
    ]);
  });

  it('lists -r and -c as includes, -e as a problem, and index options as redacted properties', () => {
    const result = parse(
      '-r base.txt\n--constraint c.txt\n-e git+https://github.com/org/repo#egg=pkg\n--index-url https://user:s3cret@pypi.example.com/simple\n--extra-index-url=https://download.pytorch.org/whl/cu118\n--pre\ntorch',
    );
    expect(result.requirements.map((r) => r.name)).toEqual(['torch']);
    expect(result.includes).toEqual([
      { kind: 'requirements', path: 'base.txt', line: 1 },
      { kind: 'constraints', path: 'c.txt', line: 2 },
    ]);
    expect(result.problems.map((p) => p.code)).toEqual(['REQUIREMENT_SKIPPED']);
    expect(result.problems[0]?.message).toContain('line 3');
    expect(result.problems[0]?.message).toContain('editable');
    expect(result.properties).toEqual([
      { name: 'mlbom:requirements:index-url', value: 'https://pypi.example.com/simple' },
      { name: 'mlbom:requirements:extra-index-url', value: 'https://download.pytorch.org/whl/cu118' },
    ]);
    expect(JSON.stringify(result)).not.toContain('s3cret');
  });

  it('keeps direct references with the URL, and skips bare paths and URLs', () => {
    const result = parse(
      'mypkg @ https://tok:en@example.com/mypkg-1.0.whl ; python_version > "3"\n./local/pkg\nhttps://example.com/x.whl\n',
    );
    expect(result.requirements).toMatchObject([
      { name: 'mypkg', url: 'https://example.com/mypkg-1.0.whl', marker: 'python_version > "3"' },
    ]);
    expect(result.problems).toHaveLength(2);
  });

  it('reports specifiers it cannot parse instead of guessing', () => {
    const result = parse('torch >= two\nok==1');
    expect(result.requirements.map((r) => r.name)).toEqual(['ok']);
    expect(result.problems[0]?.message).toContain('torch');
  });

  it('survives CRLF line endings and a file of only comments', () => {
    expect(parse('a==1\r\nb==2\r\n').requirements.map((r) => r.exactVersion)).toEqual(['1', '2']);
    expect(parse('# nothing\n   \n')).toEqual({
      requirements: [],
      packages: [],
      properties: [],
      includes: [],
      problems: [],
    });
  });
});

describe('requirementPackages', () => {
  it('builds PyPI packages with markers and extras as properties, merging duplicates', () => {
    const { requirements } = parse('Torch==2.1.0 ; python_version >= "3.8"\nrequests[socks]\ntorch==2.1.0');
    const packages = requirementPackages(requirements);
    expect(packages).toHaveLength(2);
    expect(packages[0]).toMatchObject({
      kind: 'package',
      key: 'pkg:pypi/torch@2.1.0',
      name: 'torch',
      version: '2.1.0',
      role: 'framework',
      properties: [{ name: 'mlbom:marker', value: 'python_version >= "3.8"' }],
    });
    expect(packages[1]).toMatchObject({
      key: 'pkg:pypi/requests',
      role: 'library',
      properties: [{ name: 'mlbom:extras', value: 'socks' }],
    });
  });
});

describe('redactUrl', () => {
  it('removes userinfo only', () => {
    expect(redactUrl('https://u:p@host/x')).toBe('https://host/x');
    expect(redactUrl('https://host/x@y')).toBe('https://host/x@y');
    expect(redactUrl('base.txt')).toBe('base.txt');
  });

  it('keeps hashes and normalises pinned versions per PEP 440', () => {
    const result = parse('torch==2.1.0RC1 \\\n    --hash=sha256:AAAA0000 --hash=sha256:bbbb1111\nnumpy===1.0-weird\n');
    expect(result.requirements.map((r) => [r.name, r.exactVersion, r.hashes])).toEqual([
      ['torch', '2.1.0rc1', ['sha256:aaaa0000', 'sha256:bbbb1111']],
      ['numpy', '1.0-weird', undefined],
    ]);
    expect(result.packages[0]).toMatchObject({
      purl: 'pkg:pypi/torch@2.1.0rc1',
      properties: [{ name: 'mlbom:hashes', value: 'sha256:aaaa0000,sha256:bbbb1111' }],
    });
  });
});
