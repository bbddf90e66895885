# Type stubs of the rvq package (python/rvq/__init__.py); tests/test_stubs.py keeps them in step.
import dataclasses
import os
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union
import numpy as np
from . import _core
from ._errors import DataError, DTypeError, Error, FileError
__all__ = ['Quantizer', 'Index', 'Evaluation', 'TrainProgress', 'Error', 'DataError', 'FileError', 'DTypeError', 'train', 'cpu', 'set_isa', 'load', 'from_bytes', 'from_codebooks', 'import_faiss', 'import_safetensors', 'load_index', 'index_from_bytes', 'import_faiss_index', 'sweep']
__version__ = '0.1.0'
TrainProgress = _core.TrainProgress
ArrayLike = Any

@dataclasses.dataclass(frozen=True)
class Evaluation:
    mse: float
    rel_mse: float
    layer_rel_mse: List[float]
    bits_per_vector: int
    codebook_bytes: int
    vectors_per_second: float
    encode_seconds: float
    mean_squared_norm: float
    vectors: int
    dim: int
    beam: int
    icm: int

    def __getitem__(self, key: str) -> Any:
        ...

    def asdict(self) -> Dict[str, Any]:
        ...

class Quantizer:

    def __init__(self, model: '_core.Quantizer') -> None:
        ...

    @property
    def layers(self) -> int:
        ...

    @property
    def codewords(self) -> List[int]:
        ...

    @property
    def dim(self) -> int:
        ...

    @property
    def element(self) -> str:
        ...

    @property
    def metric(self) -> str:
        ...

    @property
    def storage(self) -> str:
        ...

    @property
    def bits_per_vector(self) -> int:
        ...

    @property
    def packed_bytes(self) -> int:
        ...

    @property
    def is_pipeline(self) -> bool:
        ...

    @property
    def stages(self) -> int:
        ...

    @property
    def codebooks(self) -> Union[np.ndarray, List[np.ndarray]]:
        ...

    def encode(self, x: ArrayLike, beam: int=1, *, icm: int=0, packed: bool=False, threads: Optional[int]=None) -> np.ndarray:
        ...

    def decode(self, codes: ArrayLike, layers: Optional[int]=None, *, packed: bool=False, threads: Optional[int]=None) -> np.ndarray:
        ...

    def evaluate(self, x: ArrayLike, beam: int=1, *, icm: int=0, threads: Optional[int]=None) -> Evaluation:
        ...

    def save(self, path: Union[str, os.PathLike]) -> None:
        ...

    def to_bytes(self) -> bytes:
        ...

    def codegen(self, path: Union[str, os.PathLike], namespace: str='rvq_model') -> None:
        ...

    def quantize(self, element: str='int8', calibration: Optional[ArrayLike]=None, *, method: str='mse', granularity: str='codeword', pow2: bool=False, symmetric: bool=True, percentile: float=99.99, refit: int=0, rounding: str='half_up', calibration_rows: int=20000, report: Optional[Dict[str, Any]]=None) -> 'Quantizer':
        ...

    def compress(self, storage: str='rpq', *, seeded: bool=False, bits: int=8, subspaces: Optional[int]=None, shared: bool=False, element: str='f32', iterations: int=10, seed: int=1, calibration: Optional[ArrayLike]=None, projections: bool=False) -> 'Quantizer':
        ...

    def compact(self, calibration: Optional[ArrayLike]=None, *, remap: bool=False):
        ...

    def index(self, x: Optional[ArrayLike]=None, *, metric: str='l2', norm: str='auto', ivf: bool=False, fast_scan: bool=False, beam: int=1, icm: int=0, ids: Optional[ArrayLike]=None, threads: Optional[int]=None) -> 'Index':
        ...

    def __repr__(self) -> str:
        ...

    def __eq__(self, other: object) -> bool:
        ...

    def __hash__(self) -> int:
        ...

    def __reduce__(self):
        ...

class Index:
    def __init__(self, index: '_core.Index') -> None:
        ...

    def __len__(self) -> int:
        ...

    @property
    def dim(self) -> int:
        ...

    @property
    def metric(self) -> str:
        ...

    @property
    def norm(self) -> str:
        ...

    @property
    def ivf(self) -> bool:
        ...

    @property
    def fast_scan(self) -> bool:
        ...

    @property
    def has_ids(self) -> bool:
        ...

    @property
    def code_bytes(self) -> int:
        ...

    @property
    def memory_bytes(self) -> int:
        ...

    @property
    def mapped(self) -> bool:
        ...

    @property
    def model(self) -> Quantizer:
        ...

    def add(self, x: ArrayLike, ids: Optional[ArrayLike]=None, *, threads: Optional[int]=None) -> None:
        ...

    def remove(self, ids: ArrayLike) -> int:
        ...

    def search(self, queries: ArrayLike, k: int=10, *, rerank: int=0, nprobe: int=8, originals: Optional[ArrayLike]=None, threads: Optional[int]=None) -> Tuple[np.ndarray, np.ndarray]:
        ...

    def save(self, path: Union[str, os.PathLike]) -> None:
        ...

    def to_bytes(self) -> bytes:
        ...

    def __repr__(self) -> str:
        ...

    def __reduce__(self):
        ...

def cpu() -> Dict[str, Any]:
    """What this CPU offers and which kernels run (features, targets, backend, isa, best, int8_kernel, fast_scan_kernel, note)."""
    ...

def set_isa(name: str) -> None:
    """Run the kernels of target ``name`` ("auto" or one of ``cpu()["targets"]``)."""
    ...

def load_index(path: Union[str, os.PathLike], *, mmap: bool=False) -> Index:
    ...

def index_from_bytes(data: bytes) -> Index:
    ...

def import_faiss_index(path: Union[str, os.PathLike]) -> Index:
    ...

def train(x: ArrayLike, layers: int=8, codewords: Union[int, Sequence[int]]=256, beam: int=1, iterations: int=25, refine: int=20, seed: int=1, metric: str='l2', sample: Optional[int]=None, progress: Union[None, bool, Callable[[TrainProgress], None]]=None, threads: Optional[int]=None, *, icm: int=0, holdout: int=0, beam_entries: int=0, init: str='kmeans++', progressive: int=10, progressive_iterations: int=10) -> Quantizer:
    ...

def load(path: Union[str, os.PathLike]) -> Quantizer:
    ...

def from_bytes(data: bytes) -> Quantizer:
    ...

def from_codebooks(codebooks: Union[ArrayLike, Sequence[ArrayLike]], metric: str='l2') -> Quantizer:
    ...

def import_faiss(path: Union[str, os.PathLike], metric: str='l2') -> Quantizer:
    ...

def import_safetensors(path: Union[str, os.PathLike], pattern: Optional[str]=None, metric: Optional[str]=None) -> Quantizer:
    ...

def sweep(x: ArrayLike, test: Optional[ArrayLike]=None, *, layers: Iterable[int]=(4, 8), codewords: Iterable[int]=(256,), beam: Iterable[int]=(1,), elements: Iterable[str]=('f32',), icm: Iterable[int]=(0,), iterations: int=25, refine: int=20, seed: int=1, metric: str='l2', sample: Optional[int]=None, threads: Optional[int]=None, progress: Union[None, bool, Callable[[Dict[str, Any]], None]]=None):
    ...
