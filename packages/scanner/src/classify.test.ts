import { describe, expect, it } from 'vitest';
import { classifyGlobal } from './classify.js';

const sev = (m: string, n: string) => classifyGlobal(m, n).severity;

describe('classifyGlobal (rules.ts)', () => {
  it('is silent on what framework files import', () => {
    for (const [m, n] of [
      ['torch._utils', '_rebuild_tensor_v2'],
      ['torch._utils', '_rebuild_parameter'],
      ['torch', 'FloatStorage'],
      ['torch', 'bfloat16'],
      ['torch.nn.modules.linear', 'Linear'],
      ['torch.nn.modules.container', 'Sequential'],
      ['torch.optim.adam', 'Adam'],
      ['collections', 'OrderedDict'],
      ['numpy.core.multiarray', '_reconstruct'],
      ['numpy._core.multiarray', '_reconstruct'],
      ['numpy', 'dtype'],
      ['numpy', 'float64'],
      ['numpy.random._pickle', '__randomstate_ctor'],
      ['sklearn.linear_model._logistic', 'LogisticRegression'],
      ['sklearn.pipeline', 'Pipeline'],
      ['sklearn._loss._loss', '__pyx_unpickle_CyHalfBinomialLoss'],
      ['joblib.numpy_pickle', 'NumpyArrayWrapper'],
      ['copyreg', '_reconstructor'],
      ['copy_reg', '_reconstructor'],
      ['__builtin__', 'set'],
      ['_codecs', 'encode'],
      ['argparse', 'Namespace'],
      ['uuid', 'UUID'],
      ['__torch__.model', 'Net'],
    ]) {
      expect({ g: `${m}.${n}`, s: sev(m as string, n as string) }).toEqual({ g: `${m}.${n}`, s: undefined });
    }
  });

  it('rates code execution and import machinery CRITICAL, including Python-2 aliases', () => {
    for (const [m, n] of [
      ['os', 'system'],
      ['posix', 'system'],
      ['nt', 'system'],
      ['subprocess', 'Popen'],
      ['commands', 'Popen'],
      ['commands', 'getoutput'],
      ['__builtin__', 'eval'],
      ['__builtin__', 'execfile'],
      ['builtins', 'getattr'],
      ['builtins', '__import__'],
      ['cPickle', 'loads'],
      ['_pickle', 'loads'],
      ['marshal', 'loads'],
      ['types', 'FunctionType'],
      ['importlib', 'import_module'],
      ['pkgutil', 'resolve_name'],
      ['runpy', '_run_code'],
      ['pty', 'spawn'],
      ['ctypes', 'CDLL'],
      ['torch.utils.collect_env', 'run'],
      ['torch.utils.bottleneck.__main__', 'run_cprofile'],
      ['torch', 'load'],
      ['numpy', '__builtins__'],
      ['numpy', 'prod.os.system'],
      ['numpy', 'core._internal.sys.modules'],
      ['sklearn.utils._testing', 'assert_run_python_script'],
      ['asyncio.unix_events', '_UnixSubprocessTransport._start'],
      ['pip', 'main'],
      ['timeit', 'timeit'],
      ['cProfile', 'run'],
      ['pydoc', 'pipepager'],
      ['idlelib.pyshell', 'ModifiedInterpreter'],
      ['lib2to3.pgen2.grammar', 'Grammar'],
      ['distutils.file_util', 'write_file'],
      ['uuid', '_get_command_stdout'],
      ['operator', 'attrgetter'],
      ['_operator', 'methodcaller'],
      ['copyreg', 'add_extension'],
      ['builtins', 'object.__subclasses__'],
    ]) {
      expect({ g: `${m}.${n}`, s: sev(m as string, n as string) }).toEqual({ g: `${m}.${n}`, s: 'critical' });
    }
  });

  it('rates network and file access HIGH', () => {
    for (const [m, n] of [
      ['socket', 'create_connection'],
      ['webbrowser', 'open'],
      ['urllib2', 'urlopen'],
      ['urllib.request', 'urlopen'],
      ['httplib', 'HTTPConnection'],
      ['requests', 'get'],
      ['shutil', 'rmtree'],
      ['_io', 'FileIO'],
      ['torch.storage', '_load_from_bytes'],
      ['numpy', 'load'],
    ]) {
      expect({ g: `${m}.${n}`, s: sev(m as string, n as string) }).toEqual({ g: `${m}.${n}`, s: 'high' });
    }
  });

  it('rates anything else MEDIUM', () => {
    expect(sev('__main__', 'MyModel')).toBe('medium');
    expect(sev('mypackage.models', 'Net')).toBe('medium');
    expect(sev('builtins', 'print')).toBe('medium');
    expect(sev('functools', 'partial')).toBe('medium');
    expect(sev('zlib', 'decompress')).toBe('medium');
    expect(sev('osgeo', 'gdal')).toBe('medium');
  });
});
