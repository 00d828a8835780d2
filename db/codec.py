"""What a page keeps, as JSON text and tensors: no pickle anywhere, so a row can never run code.

A run's settings, history, end event and results go through encode() to strict JSON text
(ASCII only, so NUL and any Unicode survive a PostgreSQL text column; no bare NaN, so any JSON
reader can parse it). What plain JSON lacks is written as a tagged object {"$t": kind, …}:
non-finite floats, tuples, named tuples, dataclasses, enums, sets, bytes, dates and times,
numpy scalars and arrays, torch tensors, pandas Timestamps, Series, Indexes and DataFrames.
An array or tensor over INLINE_BYTES is not written into the JSON: it joins the run's
`arrays`, one torch.save of a dict of tensors, read back with torch.load(weights_only=True).

Dataclasses, named tuples and enums are rebuilt only from modules under `core.` (ALLOWED):
the class is looked up by "module:QualName", fields it no longer has are dropped and fields
it gained take their defaults, so a row written by an older app never crashes a newer one.
What cannot be rebuilt comes back as plain data, with a line in `problems`. Anything encode()
cannot write raises a TypeError naming where it sits (e.g. results['table'].x[3]).
"""
import base64
import dataclasses
import datetime as dt
import enum
import importlib
import io
import json
import math
import zoneinfo
from collections.abc import Mapping

import numpy as np
import pandas as pd
import torch

TAG = "$t"
INLINE_BYTES = 4096     # arrays and tensors up to this size stay inside the JSON text
ALLOWED = ("core",)     # packages whose dataclasses, named tuples and enums may be rebuilt
_NUMPY_TENSOR_DTYPES = {torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64,
                        torch.float16, torch.float32, torch.float64, torch.complex64, torch.complex128}


class _Unencodable(TypeError):
    """Raised deep inside encode(); each container on the way out adds its step to the path."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason, self.steps = reason, []


# --- Encoding -------------------------------------------------------------------------------

def encode(value, arrays: dict[str, torch.Tensor], root: str = "value") -> str:
    """`value` as JSON text; arrays over INLINE_BYTES are added to `arrays` (names "a0", "a1", …,
    shared by the calls for one run) and named in the text."""
    try:
        data = _Encoder(arrays).encode(value)
    except _Unencodable as error:
        where = root + "".join(reversed(error.steps))
        raise TypeError(f"cannot store {where}: {error.reason}") from None
    return json.dumps(data, ensure_ascii=True, allow_nan=False, separators=(",", ":"))


def _qualified(cls: type) -> str:
    name = f"{cls.__module__}:{cls.__qualname__}"
    if "<" in cls.__qualname__ or not _allowed(cls.__module__):
        raise _Unencodable(f"{name} is not a class the app can rebuild (only classes of {', '.join(ALLOWED)} are)")
    return name


def _allowed(module: str) -> bool:
    return any(module == top or module.startswith(top + ".") for top in ALLOWED)


class _Encoder:
    def __init__(self, arrays: dict):
        self.arrays = arrays

    def encode(self, x):
        t = type(x)
        if t is str or t is int or t is bool or x is None:
            return x
        if t is float:
            return x if math.isfinite(x) else {TAG: "float", "v": repr(x)}
        if t is list:
            return self._items(x)
        if t is dict:
            return self._dict(x)
        if t is tuple:
            return {TAG: "tuple", "v": self._items(x)}
        return self._other(x)

    def _items(self, items) -> list:
        out = []
        for i, item in enumerate(items):
            try:
                out.append(self.encode(item))
            except _Unencodable as error:
                error.steps.append(f"[{i}]")
                raise
        return out

    def _dict(self, x: Mapping):
        if all(type(k) is str for k in x) and TAG not in x:
            out = {}
            for k, v in x.items():
                try:
                    out[k] = self.encode(v)
                except _Unencodable as error:
                    error.steps.append(f"[{k!r}]")
                    raise
            return out
        pairs = []
        for k, v in x.items():
            try:
                pairs.append([self.encode(k), self.encode(v)])
            except _Unencodable as error:
                error.steps.append(f"[{k!r}]")
                raise
        return {TAG: "dict", "items": pairs}

    def _fields(self, names_values) -> dict:
        out = {}
        for name, value in names_values:
            try:
                out[name] = self.encode(value)
            except _Unencodable as error:
                error.steps.append(f".{name}")
                raise
        return out

    def _other(self, x):
        if isinstance(x, torch.Tensor):
            return self._tensor(x)
        if isinstance(x, np.ndarray):
            return self._ndarray(x)
        if isinstance(x, np.generic):
            return self._numpy_scalar(x)
        if isinstance(x, pd.DataFrame):
            return {TAG: "DataFrame", "index": self._index(x.index), "columns": self._index(x.columns),
                    "data": [self._column(x.iloc[:, i]) for i in range(x.shape[1])]}
        if isinstance(x, pd.Series):
            return {TAG: "Series", "index": self._index(x.index), "name": self.encode(x.name), **self._column(x)}
        if isinstance(x, pd.Index):
            return self._index(x)
        if x is pd.NaT:
            return {TAG: "NaT"}
        if x is pd.NA:
            return {TAG: "NA"}
        if isinstance(x, pd.Timestamp):
            return {TAG: "Timestamp", "v": x.isoformat(), "unit": x.unit, "tz": None if x.tz is None else str(x.tz)}
        if isinstance(x, pd.Timedelta):
            return {TAG: "Timedelta", "v": int(x.value), "unit": x.unit}
        if dataclasses.is_dataclass(x) and not isinstance(x, type):
            name = _qualified(type(x))
            return {TAG: "dataclass", "cls": name,
                    "v": self._fields((f.name, getattr(x, f.name)) for f in dataclasses.fields(x))}
        if isinstance(x, enum.Enum):
            return {TAG: "enum", "cls": _qualified(type(x)), "v": self.encode(x.value)}
        if isinstance(x, tuple) and hasattr(type(x), "_fields"):
            return {TAG: "namedtuple", "cls": _qualified(type(x)), "v": self._items(x)}
        if isinstance(x, dt.datetime):
            key = x.tzinfo.key if isinstance(x.tzinfo, zoneinfo.ZoneInfo) else None
            return {TAG: "datetime", "v": x.isoformat(), "tz": key}
        if isinstance(x, dt.date):
            return {TAG: "date", "v": x.isoformat()}
        if isinstance(x, dt.time):
            return {TAG: "time", "v": x.isoformat()}
        if isinstance(x, dt.timedelta):
            return {TAG: "timedelta", "v": [x.days, x.seconds, x.microseconds]}
        if isinstance(x, (bytes, bytearray)):
            return {TAG: "bytes", "b64": base64.b64encode(bytes(x)).decode("ascii")}
        if isinstance(x, (set, frozenset)):
            return {TAG: "frozenset" if isinstance(x, frozenset) else "set", "v": self._items(list(x))}
        if isinstance(x, complex):
            return {TAG: "complex", "v": [self.encode(x.real), self.encode(x.imag)]}
        if isinstance(x, torch.device):
            return {TAG: "torch.device", "v": str(x)}
        if isinstance(x, torch.dtype):
            return {TAG: "torch.dtype", "v": str(x).removeprefix("torch.")}
        if isinstance(x, Mapping):
            return self._dict(x)
        if isinstance(x, list):
            return self._items(x)
        if isinstance(x, tuple):
            return {TAG: "tuple", "v": self._items(x)}
        if isinstance(x, str):
            return str(x)
        if isinstance(x, bool):
            return bool(x)
        if isinstance(x, int):
            return int(x)
        if isinstance(x, float):
            return self.encode(float(x))
        raise _Unencodable(f"a {type(x).__module__}.{type(x).__qualname__} cannot be kept in the database")

    def _blob(self, tensor: torch.Tensor) -> str:
        name = f"a{len(self.arrays)}"
        self.arrays[name] = tensor
        return name

    def _tensor(self, x: torch.Tensor) -> dict:
        if x.layout != torch.strided or x.is_quantized:
            raise _Unencodable(f"a {x.layout} tensor cannot be kept (only dense ones)")
        x = x.detach().cpu()
        if x.dtype in _NUMPY_TENSOR_DTYPES and x.numel() * x.element_size() <= INLINE_BYTES:
            data = x.contiguous().numpy()
            return {TAG: "tensor", "dtype": data.dtype.str, "shape": list(x.shape),
                    "b64": base64.b64encode(data.tobytes()).decode("ascii")}
        own = x.contiguous()
        if own.untyped_storage().nbytes() > own.numel() * own.element_size():
            own = own.clone()  # a view: save its values, not the whole tensor it looks into
        return {TAG: "tensor", "blob": self._blob(own)}

    def _ndarray(self, x: np.ndarray) -> dict:
        shape = list(x.shape)
        if x.dtype.hasobject:
            return {TAG: "ndarray", "dtype": "object", "shape": shape, "v": self._items(x.ravel().tolist())}
        if x.dtype.kind in "US":
            return {TAG: "ndarray", "dtype": x.dtype.str, "shape": shape, "v": self._items(x.ravel().tolist())}
        if x.dtype.kind not in "biufcmM" or x.dtype.fields is not None:
            raise _Unencodable(f"a numpy array of dtype {x.dtype} cannot be kept")
        if x.nbytes <= INLINE_BYTES:
            return {TAG: "ndarray", "dtype": x.dtype.str, "shape": shape,
                    "b64": base64.b64encode(x.tobytes()).decode("ascii")}
        raw = np.array(x, order="C", copy=True).reshape(-1).view(np.uint8)  # its bytes, whatever the dtype
        return {TAG: "ndarray", "dtype": x.dtype.str, "shape": shape, "blob": self._blob(torch.from_numpy(raw))}

    def _numpy_scalar(self, x: np.generic) -> dict:
        kind = x.dtype.kind
        if kind == "b":
            return {TAG: "np", "dtype": x.dtype.str, "v": bool(x)}
        if kind in "iu":
            return {TAG: "np", "dtype": x.dtype.str, "v": int(x)}
        if kind == "f" and x.dtype.itemsize <= 8:
            return {TAG: "np", "dtype": x.dtype.str, "v": self.encode(float(x))}
        if kind == "U":
            return {TAG: "np", "dtype": x.dtype.str, "v": str(x)}
        if kind in "fcmMS":
            return {TAG: "np", "dtype": x.dtype.str, "b64": base64.b64encode(x.tobytes()).decode("ascii")}
        if kind == "O":
            return self.encode(x.item())
        raise _Unencodable(f"a numpy {x.dtype} value cannot be kept")

    def _index(self, index: pd.Index) -> dict:
        name = self.encode(index.name) if not isinstance(index, pd.MultiIndex) else None
        if isinstance(index, pd.RangeIndex):
            return {TAG: "RangeIndex", "start": index.start, "stop": index.stop, "step": index.step, "name": name}
        if isinstance(index, pd.MultiIndex):
            return {TAG: "MultiIndex", "v": self._items(list(index)), "names": self._items(list(index.names))}
        return {TAG: "Index", "name": name, **self._column(index)}

    def _column(self, values) -> dict:
        """A Series' or an Index's values and dtype (the dtype as pandas names it, for astype)."""
        dtype = values.dtype
        if isinstance(dtype, pd.CategoricalDtype):
            cat = pd.Categorical(values)
            return {"dtype": "category", "v": {TAG: "Categorical", "categories": self._index(cat.categories),
                                               "codes": self._ndarray(cat.codes), "ordered": bool(cat.ordered)}}
        data = values.to_numpy() if isinstance(dtype, np.dtype) else values.to_numpy(dtype=object)
        return {"dtype": str(dtype), "v": self._ndarray(data)}


# --- Decoding -------------------------------------------------------------------------------

def decode(text: str, arrays: Mapping[str, torch.Tensor] | None = None, problems: list[str] | None = None):
    """The value encode() wrote. `arrays`: the run's unpacked arrays. What cannot be rebuilt
    (a class renamed or gone, an array missing) comes back as plain data or None, and a line
    saying so is appended to `problems`; decode never raises for a well-formed row."""
    return _Decoder(arrays or {}, problems if problems is not None else []).decode(json.loads(text))


class _Decoder:
    def __init__(self, arrays: Mapping, problems: list):
        self.arrays, self.problems = arrays, problems

    def decode(self, x):
        t = type(x)
        if t is list:
            return [self.decode(v) for v in x]
        if t is dict:
            tag = x.get(TAG)
            if tag is None:
                return {k: self.decode(v) for k, v in x.items()}
            handler = getattr(self, "_" + tag.replace(".", "_"), None)
            if handler is None:
                self.problems.append(f"unknown kind of value {tag!r} (written by a newer app?)")
                return None
            return handler(x)
        return x

    def _float(self, x):
        return float(x["v"])

    def _tuple(self, x):
        return tuple(self.decode(v) for v in x["v"])

    def _dict(self, x):
        return {_hashable(self.decode(k)): self.decode(v) for k, v in x["items"]}

    def _set(self, x):
        return {_hashable(self.decode(v)) for v in x["v"]}

    def _frozenset(self, x):
        return frozenset(self._set(x))

    def _complex(self, x):
        return complex(*(self.decode(v) for v in x["v"]))

    def _bytes(self, x):
        return base64.b64decode(x["b64"])

    def _datetime(self, x):
        value = dt.datetime.fromisoformat(x["v"])
        return value.astimezone(zoneinfo.ZoneInfo(x["tz"])) if x.get("tz") else value

    def _date(self, x):
        return dt.date.fromisoformat(x["v"])

    def _time(self, x):
        return dt.time.fromisoformat(x["v"])

    def _timedelta(self, x):
        days, seconds, microseconds = x["v"]
        return dt.timedelta(days=days, seconds=seconds, microseconds=microseconds)

    def _torch_device(self, x):
        return torch.device(x["v"])

    def _torch_dtype(self, x):
        return getattr(torch, x["v"])

    def _NaT(self, x):
        return pd.NaT

    def _NA(self, x):
        return pd.NA

    def _Timestamp(self, x):
        value = pd.Timestamp(x["v"])
        if x.get("tz"):
            value = value.tz_convert(x["tz"])
        return value.as_unit(x["unit"]) if x.get("unit") else value

    def _Timedelta(self, x):
        value = pd.Timedelta(x["v"], unit="ns")
        return value.as_unit(x["unit"]) if x.get("unit") else value

    def _blob(self, name: str):
        tensor = self.arrays.get(name)
        if tensor is None:
            self.problems.append(f"array {name} is missing from the run's stored arrays")
        return tensor

    def _tensor(self, x):
        if "blob" in x:
            return self._blob(x["blob"])
        data = np.frombuffer(base64.b64decode(x["b64"]), dtype=np.dtype(x["dtype"])).reshape(x["shape"])
        return torch.from_numpy(data.copy())

    def _ndarray(self, x):
        dtype, shape = np.dtype(x["dtype"]), x["shape"]
        if "v" in x:
            values = [self.decode(v) for v in x["v"]]
            if dtype.hasobject:
                out = np.empty(len(values), dtype=object)
                out[:] = values
                return out.reshape(shape)
            return np.array(values, dtype=dtype).reshape(shape)
        if "blob" in x:
            tensor = self._blob(x["blob"])
            if tensor is None:
                return None
            raw = tensor.numpy().tobytes()
        else:
            raw = base64.b64decode(x["b64"])
        return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()

    def _np(self, x):
        dtype = np.dtype(x["dtype"])
        if "b64" in x:
            return np.frombuffer(base64.b64decode(x["b64"]), dtype=dtype)[0]
        return dtype.type(self.decode(x["v"]))

    def _values(self, x, index=None):
        """A column's values (see _Encoder._column) as a Series of its dtype."""
        if x["dtype"] == "category":
            cat = x["v"]
            values = pd.Categorical.from_codes(self.decode(cat["codes"]), categories=self.decode(cat["categories"]),
                                               ordered=cat["ordered"])
            return pd.Series(values, index=index, copy=False)
        series = pd.Series(self.decode(x["v"]), index=index, copy=False)
        if str(series.dtype) != x["dtype"]:
            try:
                series = series.astype(x["dtype"])
            except (TypeError, ValueError):
                self.problems.append(f"a column could not get back its dtype {x['dtype']}")
        return series

    def _RangeIndex(self, x):
        return pd.RangeIndex(x["start"], x["stop"], x["step"], name=self.decode(x["name"]))

    def _MultiIndex(self, x):
        tuples = [self.decode(v) for v in x["v"]]
        return pd.MultiIndex.from_tuples(tuples, names=[self.decode(n) for n in x["names"]])

    def _Index(self, x):
        return pd.Index(self._values(x), name=self.decode(x["name"]), copy=False)

    def _Series(self, x):
        series = self._values(x, self.decode(x["index"]))
        series.name = self.decode(x["name"])
        return series

    def _DataFrame(self, x):
        index, columns = self.decode(x["index"]), self.decode(x["columns"])
        data = [self._values(c) for c in x["data"]]
        if not data:
            return pd.DataFrame(index=index, columns=columns)
        frame = pd.DataFrame(dict(enumerate(data)), copy=False)  # by position: labels may repeat
        frame.index, frame.columns = index, columns
        return frame

    def _class(self, name: str):
        """The allowed class called `name` ("module:QualName"), or None (with a problem noted)."""
        module, _, qualname = name.partition(":")
        if not _allowed(module):
            self.problems.append(f"{name} is not a class the app rebuilds")
            return None
        try:
            found = importlib.import_module(module)
            for part in qualname.split("."):
                found = getattr(found, part)
        except (ImportError, AttributeError):
            self.problems.append(f"{name} no longer exists: kept as plain data")
            return None
        return found if isinstance(found, type) else None

    def _dataclass(self, x):
        values = {k: self.decode(v) for k, v in x["v"].items()}
        cls = self._class(x["cls"])
        if cls is None or not dataclasses.is_dataclass(cls):
            return values
        known = {f.name for f in dataclasses.fields(cls) if f.init}
        dropped = sorted(set(values) - known)
        if dropped:
            self.problems.append(f"{x['cls']}: fields {', '.join(dropped)} no longer exist and were dropped")
        try:
            return cls(**{k: v for k, v in values.items() if k in known})
        except (TypeError, ValueError) as error:
            self.problems.append(f"{x['cls']} could not be rebuilt ({error}): kept as plain data")
            return values

    def _namedtuple(self, x):
        values = [self.decode(v) for v in x["v"]]
        cls = self._class(x["cls"])
        if cls is None or not (issubclass(cls, tuple) and hasattr(cls, "_fields")):
            return tuple(values)
        try:
            return cls(*values[:len(cls._fields)])
        except TypeError as error:
            self.problems.append(f"{x['cls']} could not be rebuilt ({error}): kept as a tuple")
            return tuple(values)

    def _enum(self, x):
        value = self.decode(x["v"])
        cls = self._class(x["cls"])
        if cls is None or not issubclass(cls, enum.Enum):
            return value
        try:
            return cls(value)
        except ValueError:
            self.problems.append(f"{x['cls']} has no member {value!r} any more: kept as its value")
            return value


def _hashable(value):
    """A decoded dict key or set member: lists (from JSON) back to tuples where needed."""
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    return value


# --- Tensors as bytes -----------------------------------------------------------------------

def pack_tensors(tensors: Mapping) -> bytes:
    """One torch.save of a (possibly nested) dict of tensors, such as a state_dict."""
    buffer = io.BytesIO()
    torch.save(_plain(tensors, "weights"), buffer)
    return buffer.getvalue()


def unpack_tensors(data: bytes) -> dict:
    """What pack_tensors() wrote, loaded with weights_only=True (tensors and plain containers only)."""
    return torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")


def tensor_bytes(tensors) -> int:
    """The bytes the tensors of a (nested) dict hold: what a state_dict weighs."""
    if isinstance(tensors, torch.Tensor):
        return tensors.numel() * tensors.element_size()
    if isinstance(tensors, Mapping):
        return sum(tensor_bytes(v) for v in tensors.values())
    return 0


def _plain(value, path: str):
    """A state_dict as plain dicts of dense CPU tensors that own their storage (checked)."""
    if isinstance(value, torch.Tensor):
        if value.layout != torch.strided:
            raise TypeError(f"cannot store {path}: a {value.layout} tensor (only dense ones)")
        own = value.detach().cpu().contiguous()
        return own.clone() if own.untyped_storage().nbytes() > own.numel() * own.element_size() else own
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, (str, int)):
                raise TypeError(f"cannot store {path}[{k!r}]: weights are keyed by names")
            out[k] = _plain(v, f"{path}[{k!r}]")
        return out
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot store {path}: a {type(value).__qualname__} in the weights (tensors only)")
