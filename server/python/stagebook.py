"""The `stagebook` object of Python cells: `stagebook.register_model(...)`.

Runs inside the sandbox (server/python/sandbox.ts) with the cell. It converts a scikit-learn
pipeline to ONNX with skl2onnx, checks onnxruntime's probabilities against predict_proba, and leaves
in the scratch directory the file, the copy fitted on the training part (the estimate) as ONNX, the
holdout's labels and probabilities, and the labelled rows as the model saw them (the frame, one file
a column); the runner lists them in models.json once the cell has succeeded, and the server scores,
evaluates and registers them (server/services/models/register-python-model.ts; a scenario's retrain
gate: server/services/scenarios/retrain-python.ts). Nothing here reaches the network or the database.
"""

import math
import re
import time

MODEL_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
CHECK_TOLERANCE = 1e-5

_job = {"dir": None, "models": [], "register": True}


class ModelError(Exception):
    """A register_model call the server cannot take: the message says what is wrong."""


def _configure(model_dir, register=True):
    _job["dir"] = model_dir
    _job["models"] = []
    _job["register"] = register


def _registered():
    return list(_job["models"])


def feature_kind(series):
    """"boolean", "numeric" or "text": how an endpoint sends this column (a boolean dataset column
    with NULLs arrives in pandas as objects)."""
    from pandas.api import types as t

    if t.is_bool_dtype(series.dtype):
        return "boolean"
    if t.is_numeric_dtype(series.dtype):
        return "numeric"
    values = series.dropna()
    if series.dtype == object and len(values) > 0 and all(isinstance(v, bool) for v in values):
        return "boolean"
    return "text"


def model_frame(df, features):
    """The features as an endpoint feeds them: numbers and booleans as float64 (NaN for null; true
    is 1), everything else as text with "" for null (server/scoring/records.ts). Fit and check on
    this frame."""
    import numpy as np
    import pandas as pd

    out = {}
    for c in features:
        s = df[c]
        kind = feature_kind(s)
        if kind == "boolean":
            out[c] = s.map(lambda v: np.nan if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) else float(bool(v))).astype(np.float64)
        elif kind == "numeric":
            out[c] = pd.to_numeric(s, errors="coerce").astype(np.float64)
        else:
            out[c] = s.map(lambda v: "" if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) else str(v)).astype(object)
    return pd.DataFrame(out, index=df.index)


def _is_fitted(pipeline):
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(pipeline)
        return True
    except (NotFittedError, TypeError):
        return False


def _split(y, fraction, seed):
    """Stratified: each class keeps its share of the holdout."""
    import numpy as np

    rng = np.random.default_rng(seed)
    holdout = []
    for cls in (False, True):
        idx = np.flatnonzero(y == cls)
        rng.shuffle(idx)
        holdout.extend(idx[: int(round(len(idx) * fraction))].tolist())
    mask = np.zeros(len(y), dtype=bool)
    mask[holdout] = True
    return np.flatnonzero(~mask), np.flatnonzero(mask)


def _initial_types(X, numeric_tensor):
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType, StringTensorType

    num = DoubleTensorType if numeric_tensor == "double" else FloatTensorType
    return [(c, num([None, 1]) if X[c].dtype.kind == "f" else StringTensorType([None, 1])) for c in X.columns]


def _session(onnx_bytes):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(onnx_bytes, opts, providers=["CPUExecutionProvider"])


def _first_line(e):
    text = str(e).strip()
    return f"{type(e).__name__}: {text.splitlines()[0] if text else ''}"


# Estimators skl2onnx does not know, converted by onnxmltools when the project installs it (its Python
# tab): (package, class) -> (onnxmltools module, its converter function, the alias skl2onnx registers).
_EXTRA_CONVERTERS = {
    ("lightgbm", "LGBMClassifier"): ("onnxmltools.convert.lightgbm.operator_converters.LightGbm", "convert_lightgbm", "LightGbmLGBMClassifier"),
    ("xgboost", "XGBClassifier"): ("onnxmltools.convert.xgboost.operator_converters.XGBoost", "convert_xgboost", "XGBoostXGBClassifier"),
}
ONNXMLTOOLS_PIN = "onnxmltools==1.16.0"

# Classifiers that learn only labels 0..k-1 (XGBoost >= 2 refuses text): register_model fits them on
# the index of each label among the sorted classes (scikit-learn's LabelEncoder order, the order of
# predict_proba's columns), and the ONNX file names the classes in the target's own words.
_INDEX_LABELS = {("xgboost", "XGBClassifier")}
_labelled_classes = {}


def _final_estimator(est):
    while hasattr(est, "steps"):
        est = est.steps[-1][1]
    return est


def _takes_label_indexes(pipeline):
    cls = type(_final_estimator(pipeline))
    return (cls.__module__.split(".")[0], cls.__name__) in _INDEX_LABELS


def _labelled_class(cls):
    """A subclass of `cls` whose classes_ are the text classes its instance was fitted for by index
    (XGBClassifier's classes_ is a read-only arange). Same module and name, so the same converter."""
    if cls not in _labelled_classes:
        _labelled_classes[cls] = type(
            cls.__name__, (cls,), {"__module__": cls.__module__, "classes_": property(lambda self: self._stagebook_classes)}
        )
    return _labelled_classes[cls]


def _with_text_classes(est, classes):
    """A shallow copy of the fitted `est` (a Pipeline's last step, recursively) whose classifier reports
    `classes` instead of 0..k-1: skl2onnx and the converter then write the labels as text. The model
    and its predict_proba are shared, not refitted; the user's pipeline is left as it is."""
    import copy

    import numpy as np

    view = copy.copy(est)
    if hasattr(est, "steps"):
        view.steps = [*est.steps[:-1], (est.steps[-1][0], _with_text_classes(est.steps[-1][1], classes))]
        return view
    view.__class__ = _labelled_class(type(est))
    view._stagebook_classes = np.array(classes, dtype=object)
    return view


def _estimators(est):
    """`est` and every estimator inside it (Pipeline steps, ColumnTransformer parts, nested ones)."""
    from sklearn.base import BaseEstimator

    found = [est]
    try:
        params = est.get_params(deep=True)
    except Exception:
        return found
    for v in params.values():
        if isinstance(v, BaseEstimator):
            found.append(v)
        elif isinstance(v, (list, tuple)):
            found.extend(x for item in v for x in (item if isinstance(item, tuple) else (item,)) if isinstance(x, BaseEstimator))
    return found


def _register_extra_converters(name, pipeline):
    """skl2onnx's update_registered_converter for the LightGBM and XGBoost classifiers in `pipeline`,
    with onnxmltools' converters; a clear error naming the package to add when onnxmltools is missing."""
    wanted = {}
    for est in _estimators(pipeline):
        cls = type(est)
        key = (cls.__module__.split(".")[0], cls.__name__)
        if key in _EXTRA_CONVERTERS:
            wanted[key] = cls
    if not wanted:
        return None
    import importlib

    try:
        import onnxmltools  # noqa: F401
    except ImportError:
        kinds = " and ".join(sorted(c for _, c in wanted))
        raise ModelError(
            f'model "{name}": converting {kinds} to ONNX needs onnxmltools: add {ONNXMLTOOLS_PIN} to the project\'s Python packages (the Python tab)'
        ) from None
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes

    for key, cls in wanted.items():
        module, function, alias = _EXTRA_CONVERTERS[key]
        convert = getattr(importlib.import_module(module), function)
        update_registered_converter(
            cls, alias, calculate_linear_classifier_output_shapes, convert, options={"nocl": [True, False], "zipmap": [True, False, "columns"]}
        )
    # onnxmltools' tree converters write ai.onnx.ml up to version 3 (skl2onnx's default goes past it).
    from skl2onnx import get_latest_tested_opset_version

    return {"": get_latest_tested_opset_version(), "ai.onnx.ml": 3}


def _convert(name, pipeline, X, index_classes=None):
    """skl2onnx's graph, one [N,1] input per feature, no ZipMap, that onnxruntime loads. Double
    inputs where every operator takes them (closest to scikit-learn's float64), else float. A
    pipeline fitted on label indexes is converted with its classes named by `index_classes`."""
    from skl2onnx import to_onnx

    if index_classes is not None:
        pipeline = _with_text_classes(pipeline, index_classes)
    opset = _register_extra_converters(name, pipeline)
    errors = []
    for tensor in ("double", "float"):
        try:
            onx = to_onnx(pipeline, initial_types=_initial_types(X, tensor), options={"zipmap": False}, target_opset=opset)
        except Exception as e:  # skl2onnx raises many kinds: report the first line of each
            errors.append(f"skl2onnx with {tensor} inputs: {_first_line(e)}")
            continue
        data = onx.SerializeToString()
        try:
            return data, tensor, _session(data)
        except Exception as e:
            errors.append(f"onnxruntime with {tensor} inputs: {_first_line(e)}")
    raise ModelError(f'model "{name}": this pipeline cannot be converted to ONNX ({"; ".join(errors)})')


def _feeds(X, tensor):
    import numpy as np

    dtype = np.float64 if tensor == "double" else np.float32
    return {c: (X[c].to_numpy(dtype=dtype) if X[c].dtype.kind == "f" else X[c].to_numpy(dtype=object)).reshape(-1, 1) for c in X.columns}


def _check(name, sess, tensor, pipeline, X, classes, what=""):
    """onnxruntime's probabilities against predict_proba on up to 1,000 rows, to CHECK_TOLERANCE."""
    import numpy as np

    sample = X.iloc[np.linspace(0, len(X) - 1, num=1000, dtype=int)] if len(X) > 1000 else X
    outs = sess.run(None, _feeds(sample, tensor))
    probs = next((o for o in outs if isinstance(o, np.ndarray) and o.ndim == 2 and o.dtype.kind == "f"), None)
    if probs is None:
        raise ModelError(f'model "{name}"{what}: the converted model has no probabilities output')
    expected = pipeline.predict_proba(sample)
    if probs.shape != expected.shape:
        raise ModelError(f'model "{name}": onnxruntime returned probabilities of shape {probs.shape}, predict_proba {expected.shape}')
    diff = np.abs(probs.astype(np.float64) - expected)
    worst = float(np.nanmax(diff)) if diff.size else 0.0
    if np.isnan(diff).any() or not worst <= CHECK_TOLERANCE:
        r, k = np.unravel_index(int(np.argmax(np.where(np.isnan(diff), np.inf, diff))), diff.shape)
        raise ModelError(
            f'model "{name}"{what}: onnxruntime\'s probabilities differ from predict_proba by {float(diff[r, k]):.3g} (more than {CHECK_TOLERANCE:g}): '
            f'row {sample.index[r]}, class "{classes[k]}": predict_proba {expected[r, k]:.6f}, onnxruntime {float(probs[r, k]):.6f}. '
            "A step of the pipeline computes differently once converted (see skl2onnx's notes on that estimator)"
        )
    return worst, len(sample)


def register_model(name, pipeline, *, train, target, positive_class, features=None, holdout=0.2, seed=42):
    """Registers `pipeline` (a scikit-learn classifier or Pipeline) as a new version of model `name`.

    `train` is the DataFrame it learns from, `target` its label column, `positive_class` the label
    the probability is for. An unfitted pipeline is fitted on every labelled row; a fitted one is
    served as it is. Either way a copy is fitted on a stratified training part and scored on the
    holdout (`holdout` fraction, `seed`), which the server evaluates like any trained version. The
    converted ONNX must reproduce predict_proba to 1e-5. Returns a one-row DataFrame describing it.
    """
    import numpy as np
    import pandas as pd
    from sklearn.base import clone

    t0 = time.perf_counter()
    if not isinstance(name, str) or not MODEL_NAME.match(name):
        raise ModelError(f"model name {name!r}: a lowercase name (a-z, 0-9, _ and -; starting with a letter; at most 63 characters)")
    if not isinstance(train, pd.DataFrame):
        raise ModelError(f'model "{name}": train must be a DataFrame (got {type(train).__name__})')
    if target not in train.columns:
        raise ModelError(f'model "{name}": train has no column "{target}" (columns: {", ".join(map(str, train.columns))})')
    if not (isinstance(holdout, (int, float)) and 0 < holdout < 1):
        raise ModelError(f'model "{name}": holdout must be a fraction between 0 and 1 (got {holdout!r})')
    if not hasattr(pipeline, "predict_proba"):
        raise ModelError(f'model "{name}": {type(pipeline).__name__} has no predict_proba: register a classifier')
    features = [c for c in train.columns if c != target] if features is None else list(features)
    missing = [c for c in features if c not in train.columns]
    if missing:
        raise ModelError(f'model "{name}": train has no column {", ".join(map(repr, missing))}')
    labels = train[target]
    labelled = labels.notna().to_numpy()
    text_labels = labels[labelled].astype(str)
    classes = sorted(text_labels.unique().tolist())
    if str(positive_class) not in classes:
        raise ModelError(f'model "{name}": positive_class "{positive_class}" is not a value of "{target}" ({", ".join(classes[:10])})')
    if len(classes) != 2:
        raise ModelError(f'model "{name}": "{target}" has {len(classes)} classes ({", ".join(classes[:10])}); only binary classifiers can be served')
    X = model_frame(train.loc[labelled], features)
    y = text_labels.to_numpy(dtype=object)
    positive = y == str(positive_class)
    # XGBoost learns 0..k-1: it is fitted on each label's index in `classes` and served by name.
    index_classes = classes if _takes_label_indexes(pipeline) else None
    y_fit = np.array([classes.index(v) for v in y], dtype=np.int64) if index_classes else y
    fitted_on = "given"
    served = pipeline
    if not _is_fitted(pipeline):
        served = clone(pipeline).fit(X, y_fit)
        fitted_on = "all"
    else:
        _check_fitted_classes(name, served, target, classes, index_classes)
    tr, ho = _split(positive, holdout, seed)
    if len(tr) == 0 or len(ho) == 0 or positive[ho].all() or not positive[ho].any():
        raise ModelError(f'model "{name}": a holdout of {holdout} leaves a part without both classes ({len(X)} labelled rows)')
    estimate = clone(pipeline).fit(X.iloc[tr], y_fit[tr])
    pos_col = classes.index(str(positive_class))
    p_holdout = estimate.predict_proba(X.iloc[ho])[:, pos_col]
    t_fit = time.perf_counter()
    import onnxruntime  # noqa: F401  (timed on its own: importing both is most of the conversion's time)
    import skl2onnx  # noqa: F401

    t_import = time.perf_counter()
    onnx_bytes, tensor, sess = _convert(name, served, X, index_classes)
    worst, checked = _check(name, sess, tensor, served, X, classes)
    t_done = time.perf_counter()
    n = len(_job["models"])
    entry = {
        "name": name,
        "target": target,
        "positiveClass": str(positive_class),
        "features": features,
        "booleans": [c for c in features if feature_kind(train[c]) == "boolean"],
        "pipeline": _describe(served),
        "inputTensor": tensor,
        "fittedOn": fitted_on,
        "rows": int(len(train)),
        "rowsWithoutTarget": int((~labelled).sum()),
        "trainingRows": int(len(tr)),
        "holdout": {"fraction": float(holdout), "seed": int(seed), "y": positive[ho].astype(int).tolist(), "p": [min(1.0, max(0.0, float(v))) for v in p_holdout]},
        "check": {"rows": checked, "maxAbsDiff": worst},
        "seconds": {"fit": t_fit - t0, "convertAndCheck": t_done - t_fit, "imports": t_import - t_fit},
        "iterations": int(np.max(getattr(served[-1] if hasattr(served, "steps") else served, "n_iter_", [0]))),
    }
    if _job["dir"] is not None and _job["register"]:
        if any(m["name"] == name for m in _job["models"]):
            raise ModelError(f'model "{name}" is registered twice by this cell')
        entry["file"] = f"model_{n}.onnx"
        with open(f"{_job['dir']}/{entry['file']}", "wb") as f:
            f.write(onnx_bytes)
        # What the server scores itself (a retrain gate, permutation importance, drift): the copy
        # fitted on the training part as ONNX, and the rows as the model saw them with their split.
        est_bytes, est_tensor, est_sess = _convert(name, estimate, X, index_classes)
        est_worst, est_checked = _check(name, est_sess, est_tensor, estimate, X.iloc[ho], classes, " (the copy fitted on the training part)")
        entry["estimate"] = {"file": f"model_{n}_estimate.onnx", "check": {"rows": est_checked, "maxAbsDiff": est_worst}}
        with open(f"{_job['dir']}/{entry['estimate']['file']}", "wb") as f:
            f.write(est_bytes)
        entry["frame"] = _write_frame(n, X, positive, ho)
        entry["seconds"]["convertAndCheck"] = time.perf_counter() - t_fit
        _job["models"].append(entry)
    return pd.DataFrame(
        [
            {
                "model": name,
                "rows": entry["rows"],
                "holdout_rows": len(ho),
                "checked_rows": checked,
                "max_abs_diff": worst,
                "convert_check_seconds": entry["seconds"]["convertAndCheck"],
            }
        ]
    )


def _check_fitted_classes(name, served, target, classes, index_classes):
    """A pipeline fitted by the cell must know the target's classes: as written, or (XGBoost) as
    their indexes 0..k-1 in sorted order, as register_model itself encodes them."""
    fitted = [str(c) for c in getattr(served, "classes_", [])]
    if fitted == classes or (index_classes and fitted == [str(i) for i in range(len(classes))]):
        return
    how = f"; {type(_final_estimator(served)).__name__} takes them as {', '.join(f'{c}={i}' for i, c in enumerate(classes))}" if index_classes else ""
    raise ModelError(
        f'model "{name}": the fitted pipeline predicts the classes {", ".join(fitted[:10])}, but "{target}" holds {", ".join(classes)}{how} '
        "(or pass the pipeline unfitted and register_model fits it)"
    )


def _write_frame(n, X, positive, ho):
    """The labelled rows as the model saw them (model_frame), one file per column: numbers as
    little-endian float64 (NaN for null), text as a JSON array of strings; the labels (1 = positive)
    and the holdout mask as one byte a row. The server reads them as columns, never as row JSON."""
    import json

    import numpy as np

    d = _job["dir"]
    columns = []
    for j, c in enumerate(X.columns):
        if X[c].dtype.kind == "f":
            file = f"frame_{n}_{j}.f64"
            X[c].to_numpy(dtype="<f8").tofile(f"{d}/{file}")
            columns.append({"name": c, "kind": "number", "file": file})
        else:
            file = f"frame_{n}_{j}.json"
            with open(f"{d}/{file}", "w") as f:
                json.dump([str(v) for v in X[c].tolist()], f)
            columns.append({"name": c, "kind": "text", "file": file})
    positive.astype(np.uint8).tofile(f"{d}/frame_{n}_y.u8")
    mask = np.zeros(len(X), dtype=np.uint8)
    mask[ho] = 1
    mask.tofile(f"{d}/frame_{n}_holdout.u8")
    return {"rows": int(len(X)), "columns": columns, "y": f"frame_{n}_y.u8", "holdout": f"frame_{n}_holdout.u8"}


def _describe(pipeline):
    text = repr(pipeline)
    return re.sub(r"\s+", " ", text)[:2000]
