/**
 * The scanner's rules, as data, in one reviewed file.
 *
 * How a pickle global (`module` + `name`, as GLOBAL / INST / STACK_GLOBAL name it) is judged:
 *   1. Python-2 names are mapped the way pickle maps them (`__builtin__` -> `builtins`, `commands` ->
 *      `subprocess`...); the raw and the mapped name are both judged and the worse verdict wins.
 *   2. A name path that walks into Python internals (`numpy` + `__builtins__`, `x` + `f.__globals__`)
 *      is CRITICAL: protocol 4+ resolves dotted names attribute by attribute, so any allowlisted module
 *      leads anywhere through them.
 *   3. The DENY tiers below (first match on the dotted path `module.name`, longest pattern first):
 *      CRITICAL runs code or reaches the import machinery; HIGH touches the network or the file system.
 *      A dotted name is also judged from each of its components (`numpy` + `prod.os.system` is judged
 *      as `os.system` too).
 *   4. The ALLOW list: what ordinary PyTorch, NumPy, scikit-learn, joblib and standard-library data
 *      files import. Silent.
 *   5. Anything else is MEDIUM: loading the file imports and may call code nobody reviewed.
 *
 * Deny is checked before allow, so a narrow deny (e.g. `sklearn.utils._testing`) wins over a broad
 * allow pattern (scikit-learn estimator classes). Allow patterns only admit class-like names
 * (CapWords) or named reconstructors, never whole packages: `torch.*`, `numpy.*` and `sklearn.*`
 * each contain functions that run commands or load further pickles.
 */
import type { Severity } from '@mlbom/core';

export type DenyTier = 'critical' | 'high';

export interface DenyRule {
  /** A dotted path: matches itself and everything below it (`os` matches `os.system`, `os.path.join`). */
  pattern: string;
  tier: DenyTier;
  /** Why it is dangerous, shown in findings. */
  why: string;
  /** Paths under `pattern` that are harmless after all (matched the same way). */
  except?: readonly string[];
}

const EXEC = 'runs code or shell commands when the file is loaded';
const IMPORT = 'reaches the import machinery or arbitrary attributes (any function becomes callable)';
const DESER = 'deserializes further code (a nested pickle, marshal or YAML payload)';
const NET = 'opens network connections';
const FILES = 'reads, writes or deletes files';

/** Known-dangerous globals. Sources: the public bypass reports of picklescan, modelscan and fickling. */
export const DENY_RULES: readonly DenyRule[] = [
  // --- processes and shells --------------------------------------------------------------------
  { pattern: 'os', tier: 'critical', why: EXEC },
  { pattern: 'posix', tier: 'critical', why: EXEC },
  { pattern: 'nt', tier: 'critical', why: EXEC },
  { pattern: 'subprocess', tier: 'critical', why: EXEC },
  { pattern: 'commands', tier: 'critical', why: `${EXEC} (Python 2 name of subprocess)` },
  { pattern: 'popen2', tier: 'critical', why: EXEC },
  { pattern: '_posixsubprocess', tier: 'critical', why: EXEC },
  { pattern: '_winapi', tier: 'critical', why: EXEC },
  { pattern: 'pty', tier: 'critical', why: EXEC },
  { pattern: 'pexpect', tier: 'critical', why: EXEC },
  { pattern: 'multiprocessing', tier: 'critical', why: `${EXEC} (e.g. multiprocessing.util.spawnv_passfds)` },
  { pattern: '_multiprocessing', tier: 'critical', why: EXEC },
  { pattern: 'asyncio', tier: 'critical', why: `${EXEC} (asyncio subprocess transports, CVE-2025-10157)` },
  { pattern: 'platform', tier: 'critical', why: `${EXEC} (platform helpers shell out)` },
  {
    pattern: 'uuid',
    tier: 'critical',
    why: `${EXEC} (uuid._get_command_stdout)`,
    except: ['uuid.UUID', 'uuid.SafeUUID'],
  },
  { pattern: 'imaplib', tier: 'critical', why: `${EXEC} (IMAP4_stream runs a command)` },
  { pattern: 'mailcap', tier: 'critical', why: EXEC },
  { pattern: '_osx_support', tier: 'critical', why: EXEC },
  { pattern: '_aix_support', tier: 'critical', why: EXEC },
  { pattern: 'pydoc', tier: 'critical', why: `${EXEC} (pydoc.pipepager runs a command)` },
  { pattern: '_pyrepl', tier: 'critical', why: EXEC },
  { pattern: 'webbrowser', tier: 'high', why: 'opens URLs in a browser (may run a configured command)' },
  { pattern: 'tkinter', tier: 'critical', why: `${EXEC} (Tcl eval)` },
  { pattern: '_tkinter', tier: 'critical', why: `${EXEC} (Tcl eval)` },
  // --- evaluating code -----------------------------------------------------------------------------
  { pattern: 'builtins.eval', tier: 'critical', why: EXEC },
  { pattern: 'builtins.exec', tier: 'critical', why: EXEC },
  { pattern: 'builtins.execfile', tier: 'critical', why: EXEC },
  { pattern: 'builtins.compile', tier: 'critical', why: EXEC },
  { pattern: 'builtins.apply', tier: 'critical', why: `${EXEC} (Python 2 apply calls any function)` },
  { pattern: 'builtins.breakpoint', tier: 'critical', why: EXEC },
  { pattern: 'builtins.input', tier: 'critical', why: EXEC },
  { pattern: 'builtins.raw_input', tier: 'critical', why: EXEC },
  { pattern: 'builtins.__build_class__', tier: 'critical', why: EXEC },
  { pattern: 'runpy', tier: 'critical', why: EXEC },
  { pattern: 'code', tier: 'critical', why: EXEC },
  { pattern: 'codeop', tier: 'critical', why: EXEC },
  { pattern: 'timeit', tier: 'critical', why: `${EXEC} (timeit.timeit executes a statement)` },
  { pattern: 'cProfile', tier: 'critical', why: `${EXEC} (cProfile.run executes a statement)` },
  { pattern: 'profile', tier: 'critical', why: EXEC },
  { pattern: 'trace', tier: 'critical', why: EXEC },
  { pattern: 'pdb', tier: 'critical', why: EXEC },
  { pattern: 'bdb', tier: 'critical', why: EXEC },
  { pattern: 'doctest', tier: 'critical', why: EXEC },
  { pattern: 'idlelib', tier: 'critical', why: EXEC },
  { pattern: 'lib2to3', tier: 'critical', why: `${EXEC} (grammar loaders unpickle files)` },
  { pattern: 'distutils', tier: 'critical', why: `${EXEC} (spawn, execute, file_util.write_file)` },
  { pattern: 'setuptools', tier: 'critical', why: EXEC },
  { pattern: 'pip', tier: 'critical', why: `${EXEC} (pip.main installs packages, CVE-2025-1716)` },
  { pattern: 'ensurepip', tier: 'critical', why: EXEC },
  { pattern: 'venv', tier: 'critical', why: EXEC },
  { pattern: 'site', tier: 'critical', why: EXEC },
  { pattern: 'logging.config', tier: 'critical', why: `${EXEC} (dictConfig instantiates arbitrary callables)` },
  { pattern: 'jinja2', tier: 'critical', why: `${EXEC} (template rendering reaches Python internals)` },
  { pattern: 'yaml.load', tier: 'critical', why: DESER },
  { pattern: 'yaml.unsafe_load', tier: 'critical', why: DESER },
  { pattern: 'yaml.full_load', tier: 'critical', why: DESER },
  { pattern: 'yaml.load_all', tier: 'critical', why: DESER },
  { pattern: 'yaml.unsafe_load_all', tier: 'critical', why: DESER },
  { pattern: 'yaml.UnsafeLoader', tier: 'critical', why: DESER },
  { pattern: 'yaml.Loader', tier: 'critical', why: DESER },
  // --- import machinery and arbitrary attribute access ---------------------------------------------
  { pattern: 'builtins.__import__', tier: 'critical', why: IMPORT },
  { pattern: 'builtins.getattr', tier: 'critical', why: IMPORT },
  { pattern: 'builtins.setattr', tier: 'critical', why: IMPORT },
  { pattern: 'builtins.delattr', tier: 'critical', why: IMPORT },
  { pattern: 'builtins.globals', tier: 'critical', why: IMPORT },
  { pattern: 'builtins.locals', tier: 'critical', why: IMPORT },
  { pattern: 'builtins.vars', tier: 'critical', why: IMPORT },
  { pattern: 'builtins.reload', tier: 'critical', why: IMPORT },
  { pattern: 'importlib', tier: 'critical', why: IMPORT },
  { pattern: 'imp', tier: 'critical', why: IMPORT },
  { pattern: '_imp', tier: 'critical', why: IMPORT },
  { pattern: '_frozen_importlib', tier: 'critical', why: IMPORT },
  { pattern: '_frozen_importlib_external', tier: 'critical', why: IMPORT },
  { pattern: 'pkgutil', tier: 'critical', why: `${IMPORT} (pkgutil.resolve_name imports anything)` },
  { pattern: 'zipimport', tier: 'critical', why: IMPORT },
  { pattern: 'sys', tier: 'critical', why: `${IMPORT} (sys.modules)` },
  { pattern: 'operator.attrgetter', tier: 'critical', why: IMPORT },
  { pattern: 'operator.methodcaller', tier: 'critical', why: IMPORT },
  { pattern: 'operator.call', tier: 'critical', why: IMPORT },
  { pattern: '_operator.attrgetter', tier: 'critical', why: IMPORT },
  { pattern: '_operator.methodcaller', tier: 'critical', why: IMPORT },
  { pattern: '_operator.call', tier: 'critical', why: IMPORT },
  { pattern: 'copyreg.add_extension', tier: 'critical', why: `${IMPORT} (registers EXT opcodes that hide globals)` },
  { pattern: 'ctypes', tier: 'critical', why: `${EXEC} (foreign function calls)` },
  { pattern: '_ctypes', tier: 'critical', why: EXEC },
  { pattern: 'cffi', tier: 'critical', why: EXEC },
  { pattern: 'gc', tier: 'high', why: 'reaches every live object (gc.get_objects, get_referrers)' },
  { pattern: 'inspect', tier: 'high', why: 'reaches frames and globals of running code' },
  // --- code objects and nested deserialization -----------------------------------------------------
  { pattern: 'marshal', tier: 'critical', why: `${DESER} (marshal.loads builds code objects)` },
  { pattern: 'types.FunctionType', tier: 'critical', why: `${EXEC} (builds a function from a code object)` },
  { pattern: 'types.LambdaType', tier: 'critical', why: EXEC },
  { pattern: 'types.CodeType', tier: 'critical', why: EXEC },
  { pattern: 'types.MethodType', tier: 'critical', why: EXEC },
  { pattern: 'types.ModuleType', tier: 'high', why: IMPORT },
  { pattern: 'types.new_class', tier: 'high', why: EXEC },
  { pattern: 'pickle', tier: 'critical', why: DESER },
  { pattern: '_pickle', tier: 'critical', why: DESER },
  { pattern: 'dill', tier: 'critical', why: DESER },
  { pattern: 'cloudpickle', tier: 'critical', why: DESER },
  { pattern: 'shelve', tier: 'critical', why: DESER },
  { pattern: 'joblib.load', tier: 'critical', why: DESER },
  { pattern: 'joblib.numpy_pickle.load', tier: 'critical', why: DESER },
  { pattern: 'pandas.read_pickle', tier: 'critical', why: DESER },
  { pattern: 'pandas.io.pickle', tier: 'critical', why: DESER },
  { pattern: 'pandas.eval', tier: 'critical', why: EXEC },
  { pattern: 'pandas.core.computation', tier: 'critical', why: EXEC },
  { pattern: 'pandas.io', tier: 'high', why: `${FILES} or URLs (pandas readers)` },
  { pattern: 'mlflow.projects', tier: 'critical', why: EXEC },
  { pattern: 'mlflow.utils.process', tier: 'critical', why: EXEC },
  // --- PyTorch gadgets -------------------------------------------------------------------------------
  { pattern: 'torch.load', tier: 'critical', why: DESER },
  { pattern: 'torch.serialization.load', tier: 'critical', why: DESER },
  { pattern: 'torch.serialization._load', tier: 'critical', why: DESER },
  { pattern: 'torch.serialization._legacy_load', tier: 'critical', why: DESER },
  { pattern: 'torch.jit.load', tier: 'critical', why: DESER },
  { pattern: 'torch.jit._serialization', tier: 'critical', why: DESER },
  { pattern: 'torch.jit.unsupported_tensor_ops', tier: 'critical', why: `${EXEC} (execWrapper)` },
  { pattern: 'torch.hub', tier: 'critical', why: `${EXEC} (downloads and imports code)` },
  { pattern: 'torch.package', tier: 'critical', why: DESER },
  { pattern: 'torch.utils.collect_env', tier: 'critical', why: `${EXEC} (collect_env.run runs a command)` },
  { pattern: 'torch.utils.bottleneck', tier: 'critical', why: `${EXEC} (run_cprofile)` },
  { pattern: 'torch.utils.benchmark', tier: 'critical', why: `${EXEC} (Timer executes statements)` },
  { pattern: 'torch.utils.cpp_extension', tier: 'critical', why: `${EXEC} (compiles and loads native code)` },
  { pattern: 'torch.utils._config_module', tier: 'critical', why: DESER },
  { pattern: 'torch.utils.data.datapipes.utils.decoder', tier: 'critical', why: DESER },
  { pattern: 'torch._dynamo', tier: 'critical', why: `${EXEC} (guard evaluation)` },
  { pattern: 'torch._inductor', tier: 'critical', why: `${EXEC} (code cache)` },
  { pattern: 'torch.fx.experimental.symbolic_shapes', tier: 'critical', why: `${EXEC} (evaluate_guards_expression)` },
  { pattern: 'torch.fx.graph_module', tier: 'critical', why: `${EXEC} (_forward_from_src)` },
  { pattern: 'torch.testing._internal', tier: 'critical', why: EXEC },
  { pattern: 'torch.storage._load_from_bytes', tier: 'high', why: `${DESER} (torch.load of embedded bytes; scanned)` },
  { pattern: 'torch.distributed', tier: 'high', why: NET },
  { pattern: 'torch.save', tier: 'high', why: FILES },
  { pattern: 'torch.from_file', tier: 'high', why: FILES },
  // --- NumPy / scikit-learn gadgets -----------------------------------------------------------------
  { pattern: 'numpy.f2py', tier: 'critical', why: EXEC },
  { pattern: 'numpy.distutils', tier: 'critical', why: EXEC },
  { pattern: 'numpy.testing', tier: 'critical', why: `${EXEC} (runstring)` },
  { pattern: 'numpy.ctypeslib', tier: 'critical', why: EXEC },
  { pattern: 'numpy.load', tier: 'high', why: `${DESER} (may unpickle files)` },
  { pattern: 'numpy.lib.npyio', tier: 'high', why: FILES },
  { pattern: 'numpy.lib._npyio_impl', tier: 'high', why: FILES },
  { pattern: 'numpy.lib._datasource', tier: 'high', why: NET },
  { pattern: 'numpy.DataSource', tier: 'high', why: NET },
  { pattern: 'numpy.memmap', tier: 'high', why: FILES },
  { pattern: 'numpy.fromfile', tier: 'high', why: FILES },
  { pattern: 'numpy.loadtxt', tier: 'high', why: FILES },
  { pattern: 'numpy.genfromtxt', tier: 'high', why: FILES },
  { pattern: 'numpy.save', tier: 'high', why: FILES },
  { pattern: 'numpy.savez', tier: 'high', why: FILES },
  { pattern: 'numpy.savetxt', tier: 'high', why: FILES },
  { pattern: 'sklearn.utils._testing', tier: 'critical', why: `${EXEC} (assert_run_python_script)` },
  {
    pattern: 'sklearn.externals',
    tier: 'critical',
    why: 'vendored third-party code (old joblib loaders)',
    except: [
      'sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper',
      'sklearn.externals.joblib.numpy_pickle.NDArrayWrapper',
    ],
  },
  { pattern: 'sklearn.datasets', tier: 'high', why: `${NET} (dataset fetchers)` },
  // --- network ----------------------------------------------------------------------------------------
  { pattern: 'socket', tier: 'high', why: NET },
  { pattern: '_socket', tier: 'high', why: NET },
  { pattern: 'ssl', tier: 'high', why: NET },
  { pattern: 'socketserver', tier: 'high', why: NET },
  { pattern: 'urllib', tier: 'high', why: NET },
  { pattern: 'urllib2', tier: 'high', why: NET },
  { pattern: 'urllib3', tier: 'high', why: NET },
  { pattern: 'http', tier: 'high', why: NET },
  { pattern: 'httplib', tier: 'high', why: NET },
  { pattern: 'httplib2', tier: 'high', why: NET },
  { pattern: 'httpx', tier: 'high', why: NET },
  { pattern: 'requests', tier: 'high', why: NET },
  { pattern: 'aiohttp', tier: 'high', why: NET },
  { pattern: 'ftplib', tier: 'high', why: NET },
  { pattern: 'smtplib', tier: 'high', why: NET },
  { pattern: 'smtpd', tier: 'high', why: NET },
  { pattern: 'telnetlib', tier: 'high', why: NET },
  { pattern: 'poplib', tier: 'high', why: NET },
  { pattern: 'nntplib', tier: 'high', why: NET },
  { pattern: 'xmlrpc', tier: 'high', why: NET },
  { pattern: 'asyncore', tier: 'high', why: NET },
  { pattern: 'asynchat', tier: 'high', why: NET },
  { pattern: 'paramiko', tier: 'high', why: NET },
  { pattern: 'websocket', tier: 'high', why: NET },
  // --- files --------------------------------------------------------------------------------------------
  { pattern: 'builtins.open', tier: 'critical', why: FILES },
  { pattern: 'builtins.file', tier: 'critical', why: FILES },
  { pattern: 'io.open', tier: 'critical', why: FILES },
  { pattern: 'io.open_code', tier: 'critical', why: FILES },
  { pattern: '_io.open', tier: 'critical', why: FILES },
  { pattern: '_io.open_code', tier: 'critical', why: FILES },
  { pattern: 'io.FileIO', tier: 'high', why: FILES },
  { pattern: '_io.FileIO', tier: 'high', why: FILES },
  { pattern: 'codecs.open', tier: 'high', why: FILES },
  { pattern: 'fileinput', tier: 'high', why: FILES },
  { pattern: 'shutil', tier: 'high', why: FILES },
  { pattern: 'tempfile', tier: 'high', why: FILES },
  { pattern: 'glob', tier: 'high', why: FILES },
  { pattern: 'zipfile', tier: 'high', why: FILES },
  { pattern: 'tarfile', tier: 'high', why: FILES },
  { pattern: 'gzip.open', tier: 'high', why: FILES },
  { pattern: 'gzip.GzipFile', tier: 'high', why: FILES },
  { pattern: 'bz2.open', tier: 'high', why: FILES },
  { pattern: 'bz2.BZ2File', tier: 'high', why: FILES },
  { pattern: 'lzma.open', tier: 'high', why: FILES },
  { pattern: 'lzma.LZMAFile', tier: 'high', why: FILES },
  { pattern: 'sqlite3', tier: 'high', why: FILES },
  { pattern: 'dbm', tier: 'high', why: FILES },
  { pattern: 'mmap', tier: 'high', why: FILES },
  { pattern: 'fcntl', tier: 'high', why: FILES },
  { pattern: 'compileall', tier: 'high', why: FILES },
  { pattern: 'py_compile', tier: 'high', why: FILES },
  { pattern: 'signal', tier: 'high', why: 'sends or traps process signals' },
  {
    pattern: 'pathlib',
    tier: 'high',
    why: FILES,
    except: [
      'pathlib.Path',
      'pathlib.PosixPath',
      'pathlib.WindowsPath',
      'pathlib.PurePath',
      'pathlib.PurePosixPath',
      'pathlib.PureWindowsPath',
    ],
  },
];

/**
 * Python-2 module names pickle maps to Python-3 modules when it loads an old pickle
 * (the `_compat_pickle` IMPORT_MAPPING table, restated here as data).
 */
export const PY2_MODULE_ALIASES: Readonly<Record<string, string>> = {
  __builtin__: 'builtins',
  copy_reg: 'copyreg',
  cPickle: 'pickle',
  commands: 'subprocess',
  Queue: 'queue',
  SocketServer: 'socketserver',
  ConfigParser: 'configparser',
  repr: 'reprlib',
  tkFileDialog: 'tkinter.filedialog',
  tkSimpleDialog: 'tkinter.simpledialog',
  tkColorChooser: 'tkinter.colorchooser',
  tkCommonDialog: 'tkinter.commondialog',
  Dialog: 'tkinter.dialog',
  Tkdnd: 'tkinter.dnd',
  tkFont: 'tkinter.font',
  tkMessageBox: 'tkinter.messagebox',
  ScrolledText: 'tkinter.scrolledtext',
  Tkconstants: 'tkinter.constants',
  Tix: 'tkinter.tix',
  ttk: 'tkinter.ttk',
  Tkinter: 'tkinter',
  markupbase: '_markupbase',
  _winreg: 'winreg',
  thread: '_thread',
  dummy_thread: '_dummy_thread',
  dbhash: 'dbm.bsd',
  dumbdbm: 'dbm.dumb',
  dbm: 'dbm.ndbm',
  gdbm: 'dbm.gnu',
  xmlrpclib: 'xmlrpc.client',
  SimpleXMLRPCServer: 'xmlrpc.server',
  DocXMLRPCServer: 'xmlrpc.server',
  httplib: 'http.client',
  htmlentitydefs: 'html.entities',
  HTMLParser: 'html.parser',
  Cookie: 'http.cookies',
  cookielib: 'http.cookiejar',
  BaseHTTPServer: 'http.server',
  SimpleHTTPServer: 'http.server',
  CGIHTTPServer: 'http.server',
  test_support: 'test.support',
  urlparse: 'urllib.parse',
  robotparser: 'urllib.robotparser',
  urllib2: 'urllib.request',
  anydbm: 'dbm',
  _abcoll: 'collections.abc',
  cStringIO: 'io',
  StringIO: 'io',
  UserDict: 'collections',
  UserList: 'collections',
  UserString: 'collections',
  whichdb: 'dbm',
  exceptions: 'builtins',
  _elementtree: 'xml.etree.ElementTree',
  FileDialog: 'tkinter.filedialog',
  SimpleDialog: 'tkinter.simpledialog',
};

/** Python-2 (module, name) pairs pickle maps to other Python-3 names (`_compat_pickle` NAME_MAPPING). */
export const PY2_NAME_ALIASES: Readonly<Record<string, string>> = {
  '__builtin__.xrange': 'builtins.range',
  '__builtin__.reduce': 'functools.reduce',
  '__builtin__.intern': 'sys.intern',
  '__builtin__.unichr': 'builtins.chr',
  '__builtin__.unicode': 'builtins.str',
  '__builtin__.long': 'builtins.int',
  '__builtin__.basestring': 'builtins.str',
  '__builtin__.raw_input': 'builtins.input',
  '__builtin__.execfile': 'builtins.exec',
  'itertools.izip': 'builtins.zip',
  'itertools.imap': 'builtins.map',
  'itertools.ifilter': 'builtins.filter',
  'itertools.ifilterfalse': 'itertools.filterfalse',
  'itertools.izip_longest': 'itertools.zip_longest',
  'UserDict.IterableUserDict': 'collections.UserDict',
  'UserList.UserList': 'collections.UserList',
  'UserString.UserString': 'collections.UserString',
  'whichdb.whichdb': 'dbm.whichdb',
  'socket._socketobject': 'socket.SocketType',
  'urllib.urlopen': 'urllib.request.urlopen',
  'urllib.urlretrieve': 'urllib.request.urlretrieve',
  'urllib.quote': 'urllib.parse.quote',
  'urllib.unquote': 'urllib.parse.unquote',
  'urllib.urlencode': 'urllib.parse.urlencode',
  'urllib2.urlopen': 'urllib.request.urlopen',
  'commands.getoutput': 'subprocess.getoutput',
  'commands.getstatusoutput': 'subprocess.getstatusoutput',
  'sets.Set': 'builtins.set',
  'sets.ImmutableSet': 'builtins.frozenset',
};

/** Exact `module.name` globals that ordinary framework files import. */
export const ALLOWED_GLOBALS: ReadonlySet<string> = new Set([
  // Python data types and the reconstructors pickle itself emits.
  'builtins.set',
  'builtins.frozenset',
  'builtins.list',
  'builtins.dict',
  'builtins.tuple',
  'builtins.bytearray',
  'builtins.bytes',
  'builtins.complex',
  'builtins.float',
  'builtins.int',
  'builtins.str',
  'builtins.bool',
  'builtins.slice',
  'builtins.range',
  'builtins.object',
  'builtins.Ellipsis',
  'builtins.NotImplemented',
  'copyreg._reconstructor',
  'copyreg.__newobj__',
  'copyreg.__newobj_ex__',
  '_codecs.encode', // protocol 0-2 pickles of bytes: _codecs.encode(latin-1 text, 'latin1')
  'codecs.encode',
  'collections.OrderedDict',
  'collections.defaultdict',
  'collections.Counter',
  'collections.deque',
  'datetime.datetime',
  'datetime.date',
  'datetime.time',
  'datetime.timedelta',
  'datetime.timezone',
  'decimal.Decimal',
  'fractions.Fraction',
  'uuid.UUID',
  'argparse.Namespace', // training checkpoints store their command-line arguments
  'types.SimpleNamespace',
  'pathlib.Path',
  'pathlib.PosixPath',
  'pathlib.WindowsPath',
  'pathlib.PurePath',
  'pathlib.PurePosixPath',
  'pathlib.PureWindowsPath',
  // NumPy arrays, scalars, dtypes and random generators.
  'numpy.ndarray',
  'numpy.dtype',
  'numpy.core.multiarray._reconstruct',
  'numpy._core.multiarray._reconstruct',
  'numpy.core.multiarray.scalar',
  'numpy._core.multiarray.scalar',
  'numpy.core.numeric._frombuffer',
  'numpy._core.numeric._frombuffer',
  'numpy.ma.core._mareconstruct',
  'numpy.ma.core.MaskedArray',
  'numpy.matrixlib.defmatrix.matrix',
  'numpy.random._pickle.__randomstate_ctor',
  'numpy.random._pickle.__bit_generator_ctor',
  'numpy.random._pickle.__generator_ctor',
  'numpy.random.__RandomState_ctor',
  'numpy.random.mtrand.RandomState',
  'numpy.random._mt19937.MT19937',
  'numpy.random._pcg64.PCG64',
  'numpy.random._pcg64.PCG64DXSM',
  'numpy.random._philox.Philox',
  'numpy.random._sfc64.SFC64',
  'numpy.random._generator.Generator',
  // PyTorch tensors, parameters and storages (torch.save of state_dicts, checkpoints, modules).
  'torch._utils._rebuild_tensor',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_tensor_v3',
  'torch._utils._rebuild_parameter',
  'torch._utils._rebuild_parameter_with_state',
  'torch._utils._rebuild_sparse_tensor',
  'torch._utils._rebuild_sparse_csr_tensor',
  'torch._utils._rebuild_qtensor',
  'torch._utils._rebuild_meta_tensor_no_storage',
  'torch._utils._rebuild_wrapper_subclass',
  'torch._utils._rebuild_nested_tensor',
  'torch._utils._rebuild_device_tensor_from_numpy',
  'torch._utils._rebuild_device_tensor_from_cpu_tensor',
  'torch._utils._rebuild_xla_tensor',
  'torch._utils._rebuild_mtia_tensor',
  'torch._tensor._rebuild_from_type',
  'torch._tensor._rebuild_from_type_v2',
  'torch.nn.parameter.Parameter',
  'torch.nn.parameter.UninitializedParameter',
  'torch.nn.parameter.UninitializedBuffer',
  'torch.nn.parameter.Buffer',
  'torch.Size',
  'torch.device',
  'torch.Tensor',
  'torch.serialization._get_layout',
  'torch.storage.UntypedStorage',
  'torch.storage.TypedStorage',
  'torch.storage._TypedStorage',
  'torch.torch_version.TorchVersion',
  // TorchScript archives (constants.pkl, data.pkl) and quantized modules' packed parameters.
  'torch.jit._pickle.build_intlist',
  'torch.jit._pickle.build_doublelist',
  'torch.jit._pickle.build_boollist',
  'torch.jit._pickle.build_tensorlist',
  'torch.jit._pickle.build_tensor_from_id',
  'torch.jit._pickle.restore_type_tag',
  'torch.ScriptObject',
  // joblib's array wrappers (the array bytes follow the pickle opcodes; see joblib.ts).
  'joblib.numpy_pickle.NumpyArrayWrapper',
  'joblib.numpy_pickle.NDArrayWrapper',
  'joblib.numpy_pickle_compat.NDArrayWrapper',
  'sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper',
  'sklearn.externals.joblib.numpy_pickle.NDArrayWrapper',
  // pandas frames stored inside scikit-learn pipelines.
  'pandas.core.indexes.base._new_Index',
  'pandas._libs.internals._unpickle_block',
  'pandas.core.internals.blocks.new_block',
  'pandas._libs.tslibs.timestamps._unpickle_timestamp',
  'pandas._libs.tslibs.timedeltas._timedelta_unpickle',
]);

const TORCH_DTYPES =
  'float|float16|float32|float64|half|double|bfloat16|complex32|complex64|complex128|cfloat|cdouble|chalf|' +
  'uint8|uint16|uint32|uint64|int8|int16|int32|int64|short|int|long|bool|' +
  'qint8|quint8|qint32|quint4x2|quint2x4|float8_e4m3fn|float8_e5m2|float8_e4m3fnuz|float8_e5m2fnuz|' +
  'strided|sparse_coo|sparse_csr|sparse_csc|sparse_bsr|sparse_bsc|_mkldnn|' +
  'contiguous_format|channels_last|channels_last_3d|preserve_format|' +
  'per_tensor_affine|per_channel_affine|per_tensor_symmetric|per_channel_symmetric|per_channel_affine_float_qparams';

const NUMPY_SCALARS =
  'bool_|bool|int8|int16|int32|int64|uint8|uint16|uint32|uint64|intc|uintc|intp|uintp|int_|uint|' +
  'longlong|ulonglong|short|ushort|byte|ubyte|float16|float32|float64|float128|half|single|double|longdouble|' +
  'complex64|complex128|complex256|csingle|cdouble|clongdouble|object_|str_|bytes_|void|datetime64|timedelta64|' +
  'generic|number|integer|signedinteger|unsignedinteger|floating|complexfloating|inexact|flexible|character';

/** numpy's ufuncs (`[n for n in dir(np) if isinstance(getattr(np, n), np.ufunc)]`, NumPy 1.24). */
const NUMPY_UFUNCS =
  'abs|absolute|add|arccos|arccosh|arcsin|arcsinh|arctan|arctan2|arctanh|bitwise_and|bitwise_not|bitwise_or|' +
  'bitwise_xor|cbrt|ceil|conj|conjugate|copysign|cos|cosh|deg2rad|degrees|divide|divmod|equal|exp|exp2|expm1|' +
  'fabs|float_power|floor|floor_divide|fmax|fmin|fmod|frexp|gcd|greater|greater_equal|heaviside|hypot|invert|' +
  'isfinite|isinf|isnan|isnat|lcm|ldexp|left_shift|less|less_equal|log|log10|log1p|log2|logaddexp|logaddexp2|' +
  'logical_and|logical_not|logical_or|logical_xor|matmul|maximum|minimum|mod|modf|multiply|negative|nextafter|' +
  'not_equal|positive|power|rad2deg|radians|reciprocal|remainder|right_shift|rint|sign|signbit|sin|sinh|spacing|' +
  'sqrt|square|subtract|tan|tanh|true_divide|trunc';

/** Class-like names and reconstructors in framework namespaces (after DENY_RULES, which win). */
export const ALLOWED_PATTERNS: readonly { pattern: RegExp; why: string }[] = [
  { pattern: new RegExp(`^torch\\.(${TORCH_DTYPES})$`), why: 'torch dtypes, layouts, memory formats' },
  {
    pattern:
      /^torch\.(storage\.)?(Untyped|Float|Double|Half|BFloat16|Long|Int|Short|Char|Byte|Bool|ComplexFloat|ComplexDouble|QInt8|QUInt8|QInt32|QUInt4x2|QUInt2x4|Float8_e4m3fn|Float8_e5m2)Storage$/,
    why: 'torch storage types named by persistent ids',
  },
  { pattern: /^torch\.(cuda|mps|xpu)\.[A-Za-z0-9]*Storage$/, why: 'device storage types in old checkpoints' },
  { pattern: /^torch\.nn\.modules\.[a-z_0-9.]+\.[A-Z][A-Za-z0-9_]*$/, why: 'torch.nn module classes' },
  {
    pattern: /^__torch__(\.[A-Za-z_][A-Za-z0-9_]*)+$/,
    why: "TorchScript classes: resolved by TorchScript's own unpickler, which imports no Python module",
  },
  { pattern: /^torch\.ao\.nn\.[a-z_0-9.]+\.[A-Z][A-Za-z0-9_]*$/, why: 'quantized torch.nn module classes' },
  { pattern: /^torch\.nn\.utils\.[a-z_0-9.]+\.[A-Z][A-Za-z0-9_]*$/, why: 'torch.nn parametrization classes' },
  { pattern: /^torch\.optim\.[a-z_0-9.]+\.[A-Z][A-Za-z0-9_]*$/, why: 'optimizer and LR scheduler classes' },
  { pattern: /^torch\.nn\.functional\.[a-z_0-9]+$/, why: 'activation functions stored as module attributes' },
  { pattern: /^torch\._C\._nn\.[a-z_0-9]+$/, why: 'native activation functions stored as module attributes' },
  { pattern: new RegExp(`^numpy\\.(${NUMPY_SCALARS})$`), why: 'NumPy scalar types' },
  { pattern: /^numpy\.dtypes\.[A-Za-z0-9]+DType$/, why: 'NumPy 2 dtype classes' },
  {
    pattern: /^sklearn\.[a-z_0-9.]+\._?[A-Z][A-Za-z0-9_]*$/,
    why: 'scikit-learn estimator and helper classes (private ones too: _CalibratedClassifier, _BinMapper)',
  },
  {
    pattern: /^sklearn\.[a-z_0-9.]+\.(__pyx_unpickle_[A-Za-z0-9_]+|newObj)$/,
    why: "Cython unpickle helpers of sklearn (KDTree's and DistanceMetric's newObj)",
  },
  {
    pattern: new RegExp(`^numpy\\.(_?core\\._multiarray_umath\\.)?(${NUMPY_UFUNCS})$`),
    why: 'NumPy ufuncs (pure math, e.g. a FunctionTransformer(np.log1p)), pickled by name',
  },
  {
    pattern: /^scipy\.sparse\.[a-z_0-9.]*\.?(csr|csc|coo|bsr|dia|dok|lil)_(matrix|array)$/,
    why: 'SciPy sparse matrices',
  },
  {
    pattern:
      /^pandas\.core\.(frame|series|indexes\.[a-z_]+|internals\.[a-z_]+|arrays\.[a-z_]+|dtypes\.dtypes)\.[A-Z][A-Za-z0-9_]*$/,
    why: 'pandas frames, indexes and arrays',
  },
];

/** Dunder names that are legitimately part of allowlisted globals. */
export const ALLOWED_DUNDERS: ReadonlySet<string> = new Set([
  '__newobj__',
  '__newobj_ex__',
  '__main__',
  '__builtin__',
  '__torch__',
]);

/** Callables whose bytes argument is itself loaded as a pickle / torch file: the bytes are scanned too. */
export const NESTED_LOADERS: ReadonlySet<string> = new Set([
  'pickle.loads',
  'pickle._loads',
  '_pickle.loads',
  'dill.loads',
  'dill._dill.loads',
  'cloudpickle.loads',
  'torch.storage._load_from_bytes',
  'numpy.loads',
]);

/** Severity of findings for each scanner rule id (documented in docs/taxonomy.md). */
export const RULES = {
  'MLBOM-PICKLE-CRITICAL-GLOBAL': {
    severity: 'critical',
    title: 'pickle imports a global that runs code or reaches the import machinery',
  },
  'MLBOM-PICKLE-HIGH-GLOBAL': { severity: 'high', title: 'pickle imports a global with network or file access' },
  'MLBOM-PICKLE-UNKNOWN-GLOBAL': { severity: 'medium', title: 'pickle imports a global outside the allowlist' },
  'MLBOM-PICKLE-DYNAMIC-GLOBAL': {
    severity: 'critical',
    title: 'pickle imports a global whose name is computed at load time',
  },
  'MLBOM-PICKLE-BUILD-ON-GLOBAL': {
    severity: 'high',
    title: 'pickle overwrites attributes of an imported module or class',
  },
  'MLBOM-PICKLE-EXTENSION-CODE': {
    severity: 'medium',
    title: 'pickle imports a global through the copyreg extension registry',
  },
  'MLBOM-PICKLE-MALFORMED': { severity: 'high', title: 'pickle cannot be fully parsed (malformed or truncated)' },
  'MLBOM-PICKLE-TRAILING-DATA': { severity: 'low', title: 'bytes after the last pickle are not a pickle' },
  'MLBOM-FORMAT-MISMATCH': {
    severity: 'high',
    title: 'file name claims a safe format but the content is a pickle',
  },
  'MLBOM-ARCHIVE-TAMPERED': {
    severity: 'high',
    title: 'archive headers disagree with its contents (flag, CRC, size or name tricks)',
  },
  'MLBOM-ARCHIVE-PATH-TRAVERSAL': {
    severity: 'high',
    title: 'archive member would be written outside the extraction directory',
  },
  'MLBOM-ARCHIVE-BOMB': { severity: 'high', title: 'archive is built to exhaust memory or disk (decompression bomb)' },
  'MLBOM-SCAN-INCOMPLETE': { severity: 'medium', title: 'part of the file could not be analysed' },
  'MLBOM-PICKLE-UNDECODED': {
    severity: 'high',
    title: 'pickle-based file compressed with a codec mlbom does not decode (its loader would unpickle it unchecked)',
  },
  'MLBOM-KERAS-LAMBDA': { severity: 'critical', title: 'Keras model contains a Lambda layer (serialized Python code)' },
  'MLBOM-KERAS-UNSAFE-MODULE': {
    severity: 'critical',
    title: 'Keras config deserializes an object from a dangerous module',
  },
  'MLBOM-TF-PYFUNC': { severity: 'critical', title: 'TensorFlow graph calls back into Python (PyFunc)' },
  'MLBOM-TF-FILE-OP': { severity: 'high', title: 'TensorFlow graph reads or writes files' },
  'MLBOM-GGUF-TEMPLATE-INJECTION': {
    severity: 'critical',
    title: 'GGUF chat template reaches Python internals (template injection)',
  },
  'MLBOM-GGUF-TEMPLATE-SUSPICIOUS': {
    severity: 'high',
    title: 'GGUF chat template uses constructs that hide attribute access',
  },
  'MLBOM-CHAT-TEMPLATE-INJECTION': {
    severity: 'critical',
    title: 'tokenizer chat template reaches Python internals (template injection)',
  },
  'MLBOM-CHAT-TEMPLATE-SUSPICIOUS': {
    severity: 'high',
    title: 'tokenizer chat template uses constructs that hide attribute access',
  },
  'MLBOM-FORMAT-MALFORMED': { severity: 'medium', title: 'model file structure is malformed' },
} as const satisfies Record<string, { severity: Severity; title: string }>;

export type RuleId = keyof typeof RULES;

/** Rules that describe an incomplete analysis rather than a threat: on their own they make the status `error`. */
export const INTEGRITY_RULES: ReadonlySet<RuleId> = new Set([
  'MLBOM-PICKLE-MALFORMED',
  'MLBOM-PICKLE-UNDECODED',
  'MLBOM-SCAN-INCOMPLETE',
  'MLBOM-FORMAT-MALFORMED',
  'MLBOM-PICKLE-TRAILING-DATA',
]);

/** TensorFlow ops that call Python or touch the file system. */
export const TF_OPS: Readonly<Record<string, 'MLBOM-TF-PYFUNC' | 'MLBOM-TF-FILE-OP'>> = {
  PyFunc: 'MLBOM-TF-PYFUNC',
  PyFuncStateless: 'MLBOM-TF-PYFUNC',
  EagerPyFunc: 'MLBOM-TF-PYFUNC',
  ReadFile: 'MLBOM-TF-FILE-OP',
  WriteFile: 'MLBOM-TF-FILE-OP',
  MatchingFiles: 'MLBOM-TF-FILE-OP',
  ImmutableConst: 'MLBOM-TF-FILE-OP',
  WriteAudioSummary: 'MLBOM-TF-FILE-OP',
  CreateSummaryFileWriter: 'MLBOM-TF-FILE-OP',
};

/** Keras / TensorFlow packages a Keras config may name in `module` without a finding. */
export const KERAS_MODULE_ROOTS: ReadonlySet<string> = new Set([
  'keras',
  'keras_hub',
  'keras_nlp',
  'keras_cv',
  'tf_keras',
  'tensorflow',
]);

/**
 * Chat-template constructs: Python internals reachable from Jinja (sandbox escapes) are CRITICAL;
 * constructs that hide attribute names or shell out are HIGH. Benign templates use none of them.
 */
export const TEMPLATE_PATTERNS: readonly {
  re: RegExp;
  rule: 'MLBOM-GGUF-TEMPLATE-INJECTION' | 'MLBOM-GGUF-TEMPLATE-SUSPICIOUS';
  what: string;
}[] = [
  {
    re: /__(class|globals|builtins|subclasses|mro|bases|base|init|import|getattribute|dict|code|func|self|module|reduce|reduce_ex|loader|spec|getitem|call)__/,
    rule: 'MLBOM-GGUF-TEMPLATE-INJECTION',
    what: 'Python dunder attribute',
  },
  {
    re: /\b(os|sys|subprocess|importlib|builtins)\s*\.\s*[a-z_]+/,
    rule: 'MLBOM-GGUF-TEMPLATE-INJECTION',
    what: 'Python module access',
  },
  {
    re: /\b(popen|system|eval|exec|__import__|import_module|check_output)\s*\(/,
    rule: 'MLBOM-GGUF-TEMPLATE-INJECTION',
    what: 'code execution call',
  },
  { re: /\|\s*attr\s*\(/, rule: 'MLBOM-GGUF-TEMPLATE-SUSPICIOUS', what: 'attr() filter (dynamic attribute access)' },
  {
    re: /\\x5f|\\u005f|\\137|\\U0000005f/i,
    rule: 'MLBOM-GGUF-TEMPLATE-SUSPICIOUS',
    what: 'escaped underscore (hidden dunder name)',
  },
  { re: /\w__\w|\b__\w+/, rule: 'MLBOM-GGUF-TEMPLATE-SUSPICIOUS', what: 'double-underscore identifier' },
  {
    re: /\b(lipsum|cycler|joiner|namespace)\s*\.\s*_/,
    rule: 'MLBOM-GGUF-TEMPLATE-INJECTION',
    what: 'private attribute of a Jinja global',
  },
];
