"""rvq: residual vector quantization, from the rvq C++ library.

Train a model, encode vectors into codes, decode codes back, and measure the error::

    import numpy as np, rvq
    x = np.random.default_rng(0).standard_normal((20000, 64), dtype=np.float32)
    q = rvq.train(x, layers=8, codewords=256)
    codes = q.encode(x)            # uint8, shape (20000, 8)
    y = q.decode(codes)            # float32, shape (20000, 64)
    print(q.evaluate(x).rel_mse)
    q.save("model.rvq")            # the file `rvq` (the command-line tool) reads

Models are also loaded (:func:`load`), built from codebooks trained elsewhere
(:func:`from_codebooks`, :func:`import_faiss`, :func:`import_safetensors`), quantized to integer
elements (:meth:`Quantizer.quantize`), compressed (:meth:`Quantizer.compress`) and written as
firmware headers (:meth:`Quantizer.codegen`).

Arrays: C-contiguous float32 arrays are used without a copy; other float arrays, and objects
with ``__array__`` or ``__dlpack__`` (a CPU ``torch.Tensor``), are converted once. Integer
arrays are refused where vectors are expected (:class:`DTypeError`). Every array returned
owns its memory. The GIL is released while the library works.

Errors are :class:`Error`: :class:`DataError` (a ValueError), :class:`FileError` (an OSError
with ``filename``) and :class:`DTypeError` (a TypeError).
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _core
from ._errors import DataError, DTypeError, Error, FileError

__all__ = [
    "Quantizer",
    "Index",
    "Evaluation",
    "TrainProgress",
    "Error",
    "DataError",
    "FileError",
    "DTypeError",
    "train",
    "cpu",
    "set_isa",
    "load",
    "from_bytes",
    "from_codebooks",
    "import_faiss",
    "import_safetensors",
    "load_index",
    "index_from_bytes",
    "import_faiss_index",
    "sweep",
]

__version__ = "0.1.0"  # the repository's VERSION (checked by the tests)

TrainProgress = _core.TrainProgress

ArrayLike = Any  # a NumPy array, or anything with __array__ or __dlpack__


def _as_array(x: ArrayLike, what: str = "x") -> np.ndarray:
    """`x` as a NumPy array, sharing its memory where it can (NumPy arrays as they are; DLPack
    and __array__ objects through NumPy, which keeps their buffer when it can)."""
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "detach") and hasattr(x, "requires_grad"):  # torch: the values, not the graph
        x = x.detach()
    if hasattr(x, "__dlpack__"):
        try:
            return np.from_dlpack(x)
        except (TypeError, ValueError, RuntimeError, BufferError, AttributeError):
            pass  # a device NumPy cannot read, or a dtype DLPack cannot carry: try __array__
    if hasattr(x, "__array__") or isinstance(x, (list, tuple)):
        return np.asarray(x)
    raise DTypeError(f"{what}: expected a NumPy array (or an object with __array__ or __dlpack__), "
                     f"got {type(x).__name__}")


def _matrix(x: ArrayLike, what: str = "x") -> Tuple[np.ndarray, bool]:
    """`x` as a 2-D array, and whether it was a single vector (1-D)."""
    a = _as_array(x, what)
    if a.ndim == 1:
        return a.reshape(1, -1), True
    return a, False


def _count(name: str, v: int, low: int) -> int:
    """An integer option (`beam`, `icm`, train's counts) checked before it reaches the core: a
    clear error for a non-integer or a value below `low` (the core checks the rest against the
    model and the data)."""
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise DTypeError(f"{name} must be an int, got {type(v).__name__}")
    if v < low:
        raise DataError(f"{name} must be at least {low}, got {v}")
    return int(v)


def _threads(threads: Optional[int]) -> Optional[int]:
    if threads is None:
        return None
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)):
        raise DTypeError(f"threads must be an int or None, got {type(threads).__name__}")
    return int(threads)


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """What :meth:`Quantizer.evaluate` measured. Errors are per vector (sums over D values)."""

    mse: float  #: mean of ||x - x_hat||^2
    rel_mse: float  #: mse / mean ||x||^2
    layer_rel_mse: List[float]  #: rel_mse after each layer (decoding the first l layers)
    bits_per_vector: int  #: bits of one code
    codebook_bytes: int  #: bytes of the codebooks as stored
    vectors_per_second: float  #: encode speed of this call
    encode_seconds: float  #: time of the encode
    mean_squared_norm: float  #: mean ||x||^2
    vectors: int  #: rows evaluated
    dim: int  #: D
    beam: int  #: beam width of the encode
    icm: int  #: rounds of ICM refinement of the encode

    def __getitem__(self, key: str) -> Any:
        """``e["rel_mse"]`` as well as ``e.rel_mse``."""
        if key not in self.__dataclass_fields__:
            raise KeyError(key)
        return getattr(self, key)

    def asdict(self) -> Dict[str, Any]:
        """The figures as a dict (for json.dumps or a DataFrame row)."""
        return dataclasses.asdict(self)


class Quantizer:
    """A residual vector quantizer: ``layers`` codebooks of ``codewords[l]`` vectors of ``dim``
    values. Made by :func:`train`, :func:`load`, :func:`from_codebooks` and the importers; any
    ``.rvq`` file loads (f32, f16, bf16, integer, binary, pq/rpq storage, and pipelines with
    projections).

    Pickling round-trips through the ``.rvq`` bytes; ``==`` compares those bytes.
    """

    __slots__ = ("_m",)

    def __init__(self, model: "_core.Quantizer") -> None:
        if not isinstance(model, _core.Quantizer):
            raise TypeError("Quantizer objects come from rvq.train, rvq.load, rvq.from_codebooks and the importers")
        self._m = model

    # ---- shape and kind ---------------------------------------------------------------------
    @property
    def layers(self) -> int:
        """Number of layers L (codes per vector)."""
        return self._m.layers

    @property
    def codewords(self) -> List[int]:
        """Codewords of each layer (K_l)."""
        return self._m.codewords

    @property
    def dim(self) -> int:
        """Dimension D of the vectors."""
        return self._m.dim

    @property
    def element(self) -> str:
        """Element type of the stored codebooks: 'f32', 'f16', 'bf16', 'int8', 'q15', 'q7', 'int4', 'int2' or 'binary'."""
        return self._m.element

    @property
    def metric(self) -> str:
        """Distance: 'l2', 'ip', 'cos' or 'hamming' (binary models)."""
        return self._m.metric

    @property
    def storage(self) -> str:
        """Codebook storage: 'dense', 'pq' or 'rpq'."""
        return self._m.storage

    @property
    def bits_per_vector(self) -> int:
        """Bits of one vector's code: the sum over layers of ceil(log2 K_l)."""
        return self._m.bits_per_vector

    @property
    def packed_bytes(self) -> int:
        """Bytes of one vector's bit-packed code (``encode(x, packed=True)``)."""
        return self._m.packed_bytes

    @property
    def is_pipeline(self) -> bool:
        """True for a pipeline: stages with input and output projections (DAC-style imports)."""
        return self._m.is_pipeline

    @property
    def stages(self) -> int:
        """Stages of a pipeline (1 for a single model)."""
        return self._m.stages

    @property
    def codebooks(self) -> Union[np.ndarray, List[np.ndarray]]:
        """The codewords, read-only float32, viewing the model's memory (no copy): shape
        (L, K, D), or a list of (K_l, D) arrays when layers differ in K. Dense f32 models only
        (others raise :class:`DataError`)."""
        return self._m.codebooks

    # ---- encode, decode, evaluate -----------------------------------------------------------
    def encode(self, x: ArrayLike, beam: int = 1, *, icm: int = 0, packed: bool = False,
               threads: Optional[int] = None) -> np.ndarray:
        """Encode vectors into codes.

        Args:
            x: vectors, (N, D) (or one vector, (D,)).
            beam: beam width of the search (1: greedy; at most the smallest K).
            icm: rounds of ICM refinement after the search: each layer's code picked again given
                the others, never raising a vector's error (l2 float models; 0: none).
            packed: return bit-packed codes, uint8 of shape (N, packed_bytes).
            threads: threads to use (None: every core). Codes do not depend on it.

        Returns:
            uint8 codes when every K <= 256, else uint16; shape (N, L) (or (L,) for one vector).
        """
        a, one = _matrix(x)
        c = self._m.encode(a, _count("beam", beam, 1), _count("icm", icm, 0), packed, _threads(threads))
        return c[0] if one else c

    def decode(self, codes: ArrayLike, layers: Optional[int] = None, *, packed: bool = False,
               threads: Optional[int] = None) -> np.ndarray:
        """Decode codes into vectors: the sum of each row's codewords.

        Args:
            codes: integer codes, (N, L) (or (L,) for one vector); packed=True: uint8, (N, packed_bytes).
            layers: decode only the first ``layers`` layers (a coarser vector; None: all).
            threads: threads to use (None: every core).

        Returns:
            float32 vectors, shape (N, D) (or (D,)).
        """
        a, one = _matrix(codes, "codes")
        y = self._m.decode(a, layers, packed, _threads(threads))
        return y[0] if one else y

    def evaluate(self, x: ArrayLike, beam: int = 1, *, icm: int = 0, threads: Optional[int] = None) -> Evaluation:
        """Encode (``beam``, ``icm`` as :meth:`encode`) and decode ``x`` (N, D), and measure the
        error, the bits and the speed."""
        a, _ = _matrix(x)
        return Evaluation(**self._m.evaluate(a, _count("beam", beam, 1), _count("icm", icm, 0), _threads(threads)))

    # ---- files ------------------------------------------------------------------------------
    def save(self, path: Union[str, os.PathLike]) -> None:
        """Write the model as an ``.rvq`` file, atomically (a failed write leaves no file and
        keeps what was there)."""
        self._m.save(os.fspath(path))

    def to_bytes(self) -> bytes:
        """The model as the bytes of an ``.rvq`` file (:func:`from_bytes` reads them)."""
        return self._m.to_bytes()

    def codegen(self, path: Union[str, os.PathLike], namespace: str = "rvq_model") -> None:
        """Write a firmware header: the model as constexpr arrays in flash, in C++ namespace
        ``namespace`` (as ``rvq codegen`` does)."""
        self._m.codegen(os.fspath(path), namespace)

    # ---- derived models ---------------------------------------------------------------------
    def quantize(self, element: str = "int8", calibration: Optional[ArrayLike] = None, *, method: str = "mse",
                 granularity: str = "codeword", pow2: bool = False, symmetric: bool = True,
                 percentile: float = 99.99, refit: int = 0, rounding: str = "half_up",
                 calibration_rows: int = 20000, report: Optional[Dict[str, Any]] = None) -> "Quantizer":
        """Post-training quantization of an f32 model (l2 or ip) to another element, as
        ``rvq quantize`` does. Integer models encode integer-only and greedily.

        Args:
            element: 'int8', 'q15', 'q7', 'int4', 'int2', 'binary', 'f16' or 'bf16'.
            calibration: vectors (N, D) the integer encode's activation shifts are fitted on.
            method: how scales are chosen: 'minmax', 'percentile' or 'mse'.
            granularity: what shares a scale: 'tensor', 'layer', 'codeword' or 'dim'.
            pow2: power-of-two scales (every rescale a shift).
            symmetric: zero points of 0 (False: asymmetric).
            percentile: method='percentile': the percentile of |values| kept, in (50, 100].
            refit: k-means steps in the quantized domain.
            rounding: 'half_up', 'half_to_even' or 'truncate'.
            calibration_rows: calibration vectors used at most.
            report: a dict to fill with what was measured (weight_mse, data_mse, ...).
        """
        cal = None if calibration is None else _matrix(calibration, "calibration")[0]
        return Quantizer(self._m.quantize(element, cal, method, granularity, pow2, symmetric, float(percentile),
                                          refit, rounding, calibration_rows, report))

    def compress(self, storage: str = "rpq", *, seeded: bool = False, bits: int = 8, subspaces: Optional[int] = None,
                 shared: bool = False, element: str = "f32", iterations: int = 10, seed: int = 1,
                 calibration: Optional[ArrayLike] = None, projections: bool = False) -> "Quantizer":
        """Store the codebooks as pq/rpq sub-codebooks, as ``rvq compress`` does.

        Args:
            storage: 'pq' or 'rpq'.
            seeded: rpq: regenerate the indices from ``seed`` instead of storing them.
            bits: bits per sub-codeword index (1 to 8).
            subspaces: sub-spaces M; must divide D (None: D/4).
            shared: one set of sub-codebooks for every layer.
            element: sub-codebook values, 'f32' or 'int8'.
            iterations: iterations of the fit.
            seed: seed of the indices or of the fit.
            calibration: fit the sub-codebooks to the codewords these vectors use.
            projections: pipelines: compress the projection weights too, where smaller.
        """
        cal = None if calibration is None else _matrix(calibration, "calibration")[0]
        return Quantizer(self._m.compress(storage, seeded, bits, 0 if subspaces is None else subspaces, shared,
                                          element, iterations, seed, cal, projections))

    def compact(self, calibration: Optional[ArrayLike] = None, *, remap: bool = False):
        """Drop duplicate codewords and, with ``calibration``, codewords those vectors never use:
        they reconstruct exactly as before. With ``remap=True`` also returns an int32 (L, max K)
        table of each old codeword's new index (-1 where dropped or past K_l)."""
        cal = None if calibration is None else _matrix(calibration, "calibration")[0]
        r = self._m.compact(cal, remap)
        if remap:
            return Quantizer(r[0]), r[1]
        return Quantizer(r)

    # ---- search -----------------------------------------------------------------------------
    def index(self, x: Optional[ArrayLike] = None, *, metric: str = "l2", norm: str = "auto", ivf: bool = False,
              fast_scan: bool = False, beam: int = 1, icm: int = 0, ids: Optional[ArrayLike] = None,
              threads: Optional[int] = None) -> "Index":
        """A database of codes over this model, searched without decoding (docs/search.md).

        Args:
            x: vectors to add now, (N, D) (None: an empty index; :meth:`Index.add` adds later).
            metric: what nearest means at search time: 'l2', 'ip' or 'cos'.
            norm: how each reconstruction's norm is kept: 'f32', 'int8', 'cint8', 'int4',
                'cint4', 'tables' (exact, no bytes) or 'none' (ip); 'auto': f32 for l2 and cos,
                none for ip.
            ivf: inverted lists by first code (search scans ``nprobe`` lists per query).
            fast_scan: for models of 4-bit layers (at most 16 codewords each), 'l2' or 'ip':
                search sums 8-bit tables in SIMD registers to skip the codes that cannot enter the
                top k; the results are the same, at half a byte more per layer and vector.
            beam, icm: how vectors are encoded when added (as :meth:`encode`).
            ids: one id (0 or more) per row of ``x`` (None: ids are the rows' positions).
            threads: threads of the encoding (None: every core).
        """
        ix = Index(_core.make_index(self._m, metric, norm, ivf, _count("beam", beam, 1), _count("icm", icm, 0), fast_scan))
        if x is not None:
            ix.add(x, ids, threads=threads)
        return ix

    # ---- Python protocol --------------------------------------------------------------------
    def __repr__(self) -> str:
        return repr(self._m)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Quantizer) and self._m == other._m

    def __hash__(self) -> int:
        return hash(self.to_bytes())

    def __reduce__(self):
        return (from_bytes, (self.to_bytes(),))

    def _time_encode(self, x: ArrayLike, beam: int = 1, repeats: int = 3, threads: Optional[int] = 1) -> float:
        """Seconds of the fastest of ``repeats`` encodes of x timed inside C++ (benchmarks)."""
        return self._m._time_encode(_matrix(x)[0], beam, repeats, threads)


class Index:
    """A database kept as RVQ codes and searched in the compressed domain: :meth:`Quantizer.index`
    makes one, :func:`load_index` reads an ``.rvqi`` file (as ``rvq index`` writes them).

    ``search`` returns ``(distances, labels)`` as FAISS does: float32 and int64 arrays of shape
    (N, k), best first; label -1 marks a missing neighbour. l2 distances are squared; ip and cos
    give similarities (larger first)."""

    def __init__(self, index: "_core.Index") -> None:
        if not isinstance(index, _core.Index):
            raise DTypeError("rvq.Index is made by Quantizer.index(), rvq.load_index() or rvq.index_from_bytes()")
        self._ix = index

    def __len__(self) -> int:
        return len(self._ix)

    @property
    def dim(self) -> int:
        """D, the dimension of vectors and queries."""
        return self._ix.dim

    @property
    def metric(self) -> str:
        """'l2', 'ip' or 'cos'."""
        return self._ix.metric

    @property
    def norm(self) -> str:
        """The norm encoding ('f32', 'int8', 'cint8', 'int4', 'cint4', 'tables' or 'none')."""
        return self._ix.norm

    @property
    def ivf(self) -> bool:
        """True when the vectors are in inverted lists by first code."""
        return self._ix.ivf

    @property
    def fast_scan(self) -> bool:
        """True when search runs the fast scan over 4-bit codes."""
        return self._ix.fast_scan

    @property
    def has_ids(self) -> bool:
        """True when the ids are the caller's (``add(x, ids)``)."""
        return self._ix.has_ids

    @property
    def code_bytes(self) -> int:
        """Bytes of one vector's codes."""
        return self._ix.code_bytes

    @property
    def memory_bytes(self) -> int:
        """Bytes of codes, norms and ids (the model not counted)."""
        return self._ix.memory_bytes

    @property
    def mapped(self) -> bool:
        """True when the codes, norms and ids are viewed in a memory-mapped file
        (``load_index(path, mmap=True)``)."""
        return self._ix.mapped

    @property
    def model(self) -> Quantizer:
        """The index's model (a copy)."""
        return Quantizer(self._ix.model)

    def add(self, x: ArrayLike, ids: Optional[ArrayLike] = None, *, threads: Optional[int] = None) -> None:
        """Encode and append vectors (N, D), with ``ids`` (one per row, 0 or more) or numbered in
        order. The first add of an 8- or 4-bit norm encoding places its levels on these norms."""
        a, _ = _matrix(x)
        self._ix.add(a, None if ids is None else _as_array(ids, "ids"), _threads(threads))

    def remove(self, ids: ArrayLike) -> int:
        """Remove the vectors with these ids; returns how many were removed."""
        return self._ix.remove(_as_array(ids, "ids"))

    def search(self, queries: ArrayLike, k: int = 10, *, rerank: int = 0, nprobe: int = 8,
               originals: Optional[ArrayLike] = None,
               threads: Optional[int] = None) -> Tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest neighbours of each query.

        Args:
            queries: (N, D) (or one query, (D,)).
            k: neighbours per query.
            rerank: keep this many candidates by the table distance and order them by the exact
                distance (0: none; else at least k).
            nprobe: inverted lists scanned per query (ivf indexes; at most the first layer's K).
            originals: the database vectors (row i: id i) to re-rank on (None: the decoded ones).
            threads: threads to use (None: every core). Results do not depend on it.

        Returns:
            (distances, labels): float32 and int64, (N, k) (or (k,) for one query).
        """
        a, one = _matrix(queries, "queries")
        orig = None if originals is None else _matrix(originals, "originals")[0]
        d, l = self._ix.search(a, k, rerank, min(nprobe, 65536), orig, _threads(threads))
        return (d[0], l[0]) if one else (d, l)

    def save(self, path: Union[str, os.PathLike]) -> None:
        """Write the index (with its model) as an ``.rvqi`` file, atomically."""
        self._ix.save(os.fspath(path))

    def to_bytes(self) -> bytes:
        """The index as the bytes of an ``.rvqi`` file (:func:`index_from_bytes` reads them)."""
        return self._ix.to_bytes()

    def __repr__(self) -> str:
        return (f"rvq.Index(size={len(self)}, dim={self.dim}, metric='{self.metric}', norm='{self.norm}', "
                f"ivf={self.ivf}, fast_scan={self.fast_scan}, bytes_per_vector={self.memory_bytes / max(1, len(self)):.2f})")

    def __reduce__(self):
        return (index_from_bytes, (self.to_bytes(),))


def cpu() -> Dict[str, Any]:
    """What this CPU offers and which kernels run: ``features`` (the instruction-set extensions rvq
    uses), ``targets`` (the kernel targets this CPU runs), ``backend`` (``"dispatch"`` on x86-64),
    ``isa`` (the target in use), ``best``, ``int8_kernel`` (the dot-product kernel of int8, q7, int4
    and int2 models on that target: ``"avx512-vnni"``, ``"avx-vnni"``, ``"avx2"``, ``"sdot"`` or
    ``"reference"``), ``q15_kernel`` (the same for q15 models: ``"avx512-vnni"``, ``"avx-vnni"``, ``"avx2"`` or
    ``"reference"``), ``fast_scan_kernel`` (search over 4-bit codes: ``"avx2"``, ``"neon"`` or
    ``"reference"``) and ``note`` (why ``RVQ_ISA`` was not followed, or None)."""
    return dict(_core.cpu())


def set_isa(name: str) -> None:
    """Run the kernels of target ``name`` from now on: ``"auto"`` (the best this CPU runs) or one of
    ``cpu()["targets"]``, as the ``RVQ_ISA`` environment variable does at start-up. A target this
    CPU lacks raises :class:`DataError` and changes nothing."""
    _core.set_isa(str(name))


def load_index(path: Union[str, os.PathLike], *, mmap: bool = False) -> Index:
    """Read an ``.rvqi`` file (``rvq index``, :meth:`Index.save`); every section is checked.

    With ``mmap=True`` the file is memory-mapped and searched in place: the codes, norms and ids
    stay in the file's pages (shared between processes, paged in as searches read them) instead
    of being copied into memory, and :attr:`Index.mapped` is True. The first ``add`` or ``remove``
    copies them into memory; the file is never written. Replace the file only with rvq's own
    saves (a rename), not by writing into it, while it is mapped."""
    return Index(_core.load_index(os.fspath(path), bool(mmap)))


def index_from_bytes(data: bytes) -> Index:
    """The index held in the bytes of an ``.rvqi`` file (:meth:`Index.to_bytes`)."""
    return Index(_core.index_from_bytes(bytes(data)))


def import_faiss_index(path: Union[str, os.PathLike]) -> Index:
    """A FAISS ``IndexResidualQuantizer`` written by ``faiss.write_index``, with its vectors: the
    same codebooks, codes and norm encoding, so :meth:`Index.search` answers as FAISS does."""
    return Index(_core.import_faiss_index(os.fspath(path)))


# ---- progress -------------------------------------------------------------------------------
class _ProgressBar:
    """The default progress of :func:`train` on a terminal: one line on stderr."""

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.t0 = time.monotonic()
        self.shown = False

    def __call__(self, p: TrainProgress) -> None:
        if p.refining:
            what = f"refinement round {p.iteration + 1}/{p.iterations}"
        else:
            what = f"layer {p.layer + 1}/{p.layers}  iteration {p.iteration + 1}/{p.iterations}"
        done = (p.layer + (p.iteration + 1) / max(p.iterations, 1)) / (p.layers + 1)
        width = 24
        bar = "#" * int(done * width)
        self.stream.write(f"\r[{bar:<{width}}] {what}  mse {p.mse:.6g}  {time.monotonic() - self.t0:.0f} s\033[K")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr is not None and sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


# ---- module functions -----------------------------------------------------------------------
def train(x: ArrayLike, layers: int = 8, codewords: Union[int, Sequence[int]] = 256, beam: int = 1,
          iterations: int = 25, refine: int = 20, seed: int = 1, metric: str = "l2", sample: Optional[int] = None,
          progress: Union[None, bool, Callable[[TrainProgress], None]] = None, threads: Optional[int] = None, *,
          icm: int = 0, holdout: int = 0, beam_entries: int = 0, init: str = "kmeans++", progressive: int = 10,
          progressive_iterations: int = 10) -> Quantizer:
    """Train a model on the rows of ``x`` (N, D): residual k-means layer by layer, then joint
    least-squares refinement for the ``beam`` encoder. The same data, options and seed give the
    model ``rvq train`` gives, bit for bit, whatever ``threads`` is.

    Args:
        x: training vectors (N, D), float.
        layers: L.
        codewords: K, one for all layers or one per layer (each <= N).
        beam: beam width of the encoder the model is trained and refined for.
        iterations: k-means iterations per layer.
        refine: rounds of joint refinement (l2; 0: off).
        seed: random seed.
        metric: 'l2', 'ip' or 'cos'.
        sample: train on a seeded subsample of this many rows (None: 500000, as the CLI; 0: all rows).
        progress: a callable given a :class:`TrainProgress` once per k-means iteration; None shows
            a progress bar when stderr is a terminal; False shows nothing.
        threads: threads to use (None: every core).
        icm: refine for the ``beam`` encoder followed by this many ICM rounds (encode with the same ``icm``).
        holdout: every ``holdout``-th row stays out of the refinement's fits and judges its rounds
            (20: 5%; 0: none); the result never has a higher held-out error than before refinement.
        beam_entries: with ``beam`` > 1, each layer trains on the residuals of every row's best
            ``beam_entries`` beam entries (0: all of them, within ``sample`` rows in all; 1: the best only).
        init: k-means seeding: 'kmeans++', 'greedy-kmeans++' or 'random'.
        progressive: l2: k-means grows through principal dimensions in this many steps first (0: off).
        progressive_iterations: k-means iterations of each progressive step.

    Ctrl-C stops the training with KeyboardInterrupt.
    """
    a, _ = _matrix(x)
    ks = ([_count("codewords", codewords, 0)] if isinstance(codewords, (int, np.integer, float))
          else [_count("codewords", k, 0) for k in codewords])
    bar = None
    if progress is None and _stderr_is_terminal():
        bar = progress = _ProgressBar()
    elif progress is False:
        progress = None
    elif progress is not None and not callable(progress):
        raise DTypeError("progress must be a callable, None or False")
    try:
        m = _core.train(a, _count("layers", layers, 0), ks, _count("beam", beam, 1), _count("icm", icm, 0),
                        _count("holdout", holdout, 0), _count("beam_entries", beam_entries, 0),
                        _count("iterations", iterations, 0), _count("refine", refine, 0), _count("seed", seed, 0),
                        metric, 500000 if sample is None else _count("sample", sample, 0), init,
                        _count("progressive", progressive, 0), _count("progressive_iterations", progressive_iterations, 0),
                        progress, _threads(threads))
    finally:
        if bar is not None:
            bar.close()
    return Quantizer(m)


def load(path: Union[str, os.PathLike]) -> Quantizer:
    """Load an ``.rvq`` file (any element, metric, storage, or a pipeline)."""
    return Quantizer(_core.load(os.fspath(path)))


def from_bytes(data: bytes) -> Quantizer:
    """A model from the bytes of an ``.rvq`` file (:meth:`Quantizer.to_bytes`)."""
    return Quantizer(_core.from_bytes(bytes(data)))


def from_codebooks(codebooks: Union[ArrayLike, Sequence[ArrayLike]], metric: str = "l2") -> Quantizer:
    """A model from codebooks trained elsewhere: an (L, K, D) array, or a list of (K_l, D)
    arrays (layers may differ in K). Tensors (torch ``embed`` buffers) work as they are."""
    if isinstance(codebooks, (list, tuple)):
        books = [_as_array(b, f"codebooks[{i}]") for i, b in enumerate(codebooks)]
    else:
        a = _as_array(codebooks, "codebooks")
        if a.ndim != 3:
            raise DataError(f"codebooks: expected an (L, K, D) array or a list of (K, D) arrays, got {a.ndim}-D")
        books = list(a)
    if not books:
        raise DataError("codebooks: no layers")
    return Quantizer(_core.from_codebooks(books, metric))


def import_faiss(path: Union[str, os.PathLike], metric: str = "l2") -> Quantizer:
    """A FAISS ResidualQuantizer (IndexResidualQuantizer, as faiss.write_index writes it)."""
    return Quantizer(_core.import_faiss(os.fspath(path), metric))


def import_safetensors(path: Union[str, os.PathLike], pattern: Optional[str] = None,
                       metric: Optional[str] = None) -> Quantizer:
    """Codebooks of a safetensors checkpoint (vector-quantize-pytorch, EnCodec, DAC names by
    default; ``pattern`` names them otherwise: '*' any text, '{}' the layer number). DAC's
    projections make a pipeline (cos metric unless given)."""
    return Quantizer(_core.import_safetensors(os.fspath(path), pattern or "", metric))


def sweep(x: ArrayLike, test: Optional[ArrayLike] = None, *, layers: Iterable[int] = (4, 8),
          codewords: Iterable[int] = (256,), beam: Iterable[int] = (1,), elements: Iterable[str] = ("f32",),
          icm: Iterable[int] = (0,), iterations: int = 25, refine: int = 20, seed: int = 1, metric: str = "l2", sample: Optional[int] = None,
          threads: Optional[int] = None, progress: Union[None, bool, Callable[[Dict[str, Any]], None]] = None):
    """Train and measure every combination of ``layers`` x ``codewords`` x ``beam`` x
    ``elements`` on ``x``, measured on ``test`` (default: ``x``).

    Integer and binary elements are post-training quantizations of the f32 model (calibrated on
    ``x``) and encode greedily, so they are measured at beam 1 only. ``icm`` lists rounds of ICM
    after the search (as :meth:`Quantizer.encode`'s ``icm``): every f32 point is measured with
    each; other elements with 0 only.

    Returns:
        one dict per measured point (layers, codewords, beam, icm, element, bits_per_vector,
        codebook_bytes, mse, rel_mse, train_seconds, vectors_per_second), as a pandas DataFrame
        when pandas is installed.
    """
    xa, _ = _matrix(x)
    ta = xa if test is None else _matrix(test, "test")[0]
    rows: List[Dict[str, Any]] = []
    grid = [(l, k, b) for l in layers for k in codewords for b in beam]
    for i, (l, k, b) in enumerate(grid):
        t0 = time.monotonic()
        q = train(xa, layers=l, codewords=k, beam=b, iterations=iterations, refine=refine, seed=seed, metric=metric,
                  sample=sample, threads=threads, progress=False)
        train_seconds = time.monotonic() - t0
        for el in elements:
            model = q if el == "f32" else q.quantize(el, calibration=xa)
            if el != "f32" and b != 1 and model.element not in ("f16", "bf16"):
                continue  # integer encode is greedy: its beam-1 row stands for it
            for rounds in icm:
                if rounds and el != "f32":
                    continue  # ICM refines l2 f32 models
                e = model.evaluate(ta, beam=b if model.element in ("f32", "f16", "bf16") else 1, icm=int(rounds),
                                   threads=threads)
                row = {"layers": l, "codewords": k, "beam": b, "icm": int(rounds), "element": el,
                       "bits_per_vector": e.bits_per_vector, "codebook_bytes": e.codebook_bytes, "mse": e.mse,
                       "rel_mse": e.rel_mse, "train_seconds": train_seconds,
                       "vectors_per_second": e.vectors_per_second}
                rows.append(row)
                if callable(progress):
                    progress(dict(row, point=i + 1, points=len(grid)))
    try:
        import pandas  # type: ignore
    except ImportError:
        return rows
    return pandas.DataFrame(rows)
