"""scikit-learn side of bench/ml-quality.ts: fit sklearn's models on the split the TypeScript side made.

`python3 bench/ml-quality.py JOB.json` reads the job (datasets, column kinds, train/test row indices,
our holdout probabilities), fits LogisticRegression and HistGradientBoostingClassifier with the same
preprocessing as ours, and prints one JSON object with test AUCs and fit times on stdout.

Setup: run with any python3; the script creates its own venv (bench/.out/ml-venv, from
bench/requirements-ml.txt) on first use and re-runs itself inside it.
"""

import fcntl
import hashlib
import json
import os
import subprocess
import sys
import venv

HERE = os.path.dirname(os.path.abspath(__file__))
VENV = os.path.join(HERE, ".out", "ml-venv")
REQUIREMENTS = os.path.join(HERE, "requirements-ml.txt")


def venv_python() -> str:
    return os.path.join(VENV, "bin", "python")


def ensure_venv() -> None:
    """Create (or refresh, when the requirements changed) the venv and re-exec inside it."""
    with open(REQUIREMENTS, "rb") as f:
        stamp = hashlib.sha256(f.read()).hexdigest()
    stamp_file = os.path.join(VENV, ".requirements-sha256")
    if os.path.realpath(sys.prefix) == os.path.realpath(VENV):
        return
    # bench/training.py shares this venv: one process creates it while the other waits.
    os.makedirs(os.path.dirname(os.path.abspath(VENV)), exist_ok=True)
    with open(f"{VENV}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        current = open(stamp_file).read().strip() if os.path.exists(stamp_file) else None
        if current != stamp:
            print(f"ml-quality: creating {VENV} (pip install -r {REQUIREMENTS})", file=sys.stderr)
            venv.create(VENV, with_pip=True, clear=True)
            subprocess.run([venv_python(), "-m", "pip", "install", "-q", "-r", REQUIREMENTS], check=True, stdout=sys.stderr)
            with open(stamp_file, "w") as f:
                f.write(stamp)
    os.execv(venv_python(), [venv_python(), *sys.argv])


def load(dataset):
    import csv

    import numpy as np

    with open(dataset["csv"], newline="") as f:
        rows = list(csv.reader(f))
    header, rows = rows[0], rows[1:]
    col = {name: i for i, name in enumerate(header)}
    missing = set(dataset["missing"])

    def numeric(name):
        return np.array([float("nan") if r[col[name]] in missing else float(r[col[name]]) for r in rows], dtype=np.float64)

    def categorical(name):
        # Missing is the category "" on both sides.
        return np.array(["" if r[col[name]] in missing else r[col[name]] for r in rows], dtype=object)

    num = np.column_stack([numeric(c) for c in dataset["numeric"]]) if dataset["numeric"] else np.zeros((len(rows), 0))
    cat = np.column_stack([categorical(c) for c in dataset["categorical"]]) if dataset["categorical"] else np.zeros((len(rows), 0), dtype=object)
    y = np.array([1 if r[col[dataset["target"]]] == dataset["positive"] else 0 for r in rows])
    return num, cat, y


def run(dataset):
    import time

    import numpy as np
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, StandardScaler

    num, cat, y = load(dataset)
    X = np.concatenate([num.astype(object), cat], axis=1)
    n_num = num.shape[1]
    num_idx = list(range(n_num))
    cat_idx = list(range(n_num, X.shape[1]))
    train = np.array(dataset["train"])
    test = np.array(dataset["test"])
    spec = dataset["categoricalSpec"]

    def as_float():
        return FunctionTransformer(lambda Xn: Xn.astype(np.float64))

    def one_hot():
        # As ours: at most maxCategories columns, categories seen fewer than minFrequency times
        # share one, unseen categories are all zeros.
        return OneHotEncoder(
            handle_unknown="ignore",
            min_frequency=spec["minFrequency"],
            max_categories=spec["maxCategories"] + 1,
            sparse_output=False,
        )

    numeric_lr = Pipeline([("float", as_float()), ("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())])
    models = {
        "logistic_regression": Pipeline(
            [
                ("pre", ColumnTransformer([("num", numeric_lr, num_idx), ("cat", one_hot(), cat_idx)])),
                ("model", LogisticRegression(C=1.0, max_iter=1000)),
            ]
        ),
        # For information: trees on raw numbers (NaN kept) and one-hot columns.
        "gradient_boosted_trees (sklearn one-hot)": Pipeline(
            [
                ("pre", ColumnTransformer([("num", as_float(), num_idx), ("cat", one_hot(), cat_idx)])),
                ("model", HistGradientBoostingClassifier(random_state=0)),
            ]
        ),
        # The reference: scikit-learn's native categorical splits (missing values routed per split).
        "gradient_boosted_trees": Pipeline(
            [
                (
                    "pre",
                    ColumnTransformer(
                        [
                            ("num", as_float(), num_idx),
                            ("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan, encoded_missing_value=np.nan), cat_idx),
                        ]
                    ),
                ),
                ("model", HistGradientBoostingClassifier(random_state=0, categorical_features=[False] * n_num + [True] * len(cat_idx))),
            ]
        ),
    }
    results = {}
    for name, model in models.items():
        t0 = time.perf_counter()
        model.fit(X[train], y[train])
        fit_seconds = time.perf_counter() - t0
        p = model.predict_proba(X[test])[:, 1]
        results[name] = {"auc": float(roc_auc_score(y[test], p)), "fitSeconds": fit_seconds}
    # Our holdout probabilities, scored by sklearn's roc_auc_score: checks our AUC implementation too.
    ours = {name: float(roc_auc_score(y[test], np.array(p))) for name, p in dataset["ours"].items()}
    return {"name": dataset["name"], "sklearn": results, "oursAucBySklearn": ours, "versions": versions()}


def versions():
    import numpy
    import sklearn

    return {"python": sys.version.split()[0], "scikit-learn": sklearn.__version__, "numpy": numpy.__version__}


def main():
    ensure_venv()
    with open(sys.argv[1]) as f:
        job = json.load(f)
    print(json.dumps({"datasets": [run(d) for d in job["datasets"]]}))


if __name__ == "__main__":
    main()
