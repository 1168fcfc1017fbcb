"""scikit-learn side of bench/training.ts: fit times of scikit-learn's models on the data and split the
TypeScript side trained on, one thread (OMP_NUM_THREADS=1, set by the caller).

`python3 bench/training.py JOB.json` reads the job (a list of fits: CSV file, column kinds, train and
test row indices as little-endian uint32 files, model and its parameters), fits each, and prints one
JSON object per fit on stdout: fit seconds, predict seconds, test AUC, peak RSS growth during the fit.
Runs in the venv of bench/ml-quality.py (created there on first use).
"""

import importlib.util
import json
import os
import resource
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def ensure_venv():
    spec = importlib.util.spec_from_file_location("ml_quality", os.path.join(HERE, "ml-quality.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.ensure_venv()


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load(fit):
    import numpy as np
    import pandas as pd

    numeric = fit["numeric"]
    categorical = fit.get("categorical", [])
    dtypes = {**{c: "float64" for c in numeric}, **{c: "object" for c in categorical}, fit["target"]: "object"}
    df = pd.read_csv(fit["csv"], dtype=dtypes, keep_default_na=False, na_values={c: [""] for c in numeric})
    for c in categorical:
        # Missing is the category "" on both sides.
        df[c] = df[c].fillna("")
    y = (df[fit["target"]] == fit["positive"]).to_numpy().astype(np.int64)
    train = np.fromfile(fit["train"], dtype="<u4").astype(np.int64)
    test = np.fromfile(fit["test"], dtype="<u4").astype(np.int64)
    return df[numeric + categorical], y, train, test


def model_of(fit):
    import numpy as np
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OrdinalEncoder, StandardScaler

    numeric = fit["numeric"]
    categorical = fit.get("categorical", [])
    if fit["model"] == "hgb":
        pre = ColumnTransformer(
            [
                ("num", "passthrough", numeric),
                ("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan, encoded_missing_value=np.nan), categorical),
            ]
        )
        hgb = HistGradientBoostingClassifier(
            max_iter=fit["maxIter"],
            early_stopping=False,
            max_leaf_nodes=31,
            min_samples_leaf=20,
            learning_rate=0.1,
            max_bins=255,
            categorical_features=[False] * len(numeric) + [True] * len(categorical),
            random_state=0,
        )
        return Pipeline([("pre", pre), ("model", hgb)])
    if fit["model"] == "lr":
        return Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler()), ("model", LogisticRegression(C=1.0, max_iter=1000))])
    raise ValueError(f"unknown model {fit['model']}")


def run(fit):
    import sklearn
    from sklearn.metrics import roc_auc_score

    X, y, train, test = load(fit)
    Xtrain, ytrain, Xtest = X.iloc[train], y[train], X.iloc[test]
    seconds = []
    grown = None
    # With "repeats" (as the TypeScript side does) the fit time is the median over that many fresh
    # fits; the memory figure is the first fit's.
    for _ in range(fit.get("repeats", 1)):
        model = model_of(fit)
        before = peak_rss_mb()
        t0 = time.perf_counter()
        model.fit(Xtrain, ytrain)
        seconds.append(time.perf_counter() - t0)
        if grown is None:
            grown = peak_rss_mb() - before
    fit_seconds = sorted(seconds)[len(seconds) // 2]
    t1 = time.perf_counter()
    p = model.predict_proba(Xtest)[:, 1]
    predict_seconds = time.perf_counter() - t1
    extra = {}
    if fit["model"] == "lr":
        extra["iterations"] = int(model[-1].n_iter_[0])
    return {
        "name": fit["name"],
        "fitSeconds": fit_seconds,
        "predictSeconds": predict_seconds,
        "auc": float(roc_auc_score(y[test], p)),
        "peakRssGrowthMb": grown,
        "sklearn": sklearn.__version__,
        **extra,
    }


def main():
    ensure_venv()
    with open(sys.argv[1]) as f:
        job = json.load(f)
    print(json.dumps([run(fit) for fit in job["fits"]]))


if __name__ == "__main__":
    main()
