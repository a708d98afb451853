#!/usr/bin/env python3
"""Train small XGBoost models and record what xgboost itself predicts for them.

kfup's model server evaluates XGBoost models in Go
(components/serving/modelserver, xgboost.go); its tests compare every prediction with the
ones written here, |delta| <= 1e-6. Run it with `make serving-fixtures`, which uses the
offline python-ml image (Debian bookworm: xgboost 1.7, scikit-learn 1.2, no network):

    docker run --rm -v $PWD:/w -w /w kfup-offline/python-ml:bookworm \
        python3 hack/serving-fixtures/make_fixtures.py

For each case it writes <case>.json and <case>.ubj (booster.save_model) and one entry in
cases.json: the input rows (null for a missing value), booster.predict(...) and
booster.predict(..., output_margin=True), both flattened row-major with their shapes.
Everything is seeded, so a rerun with the same xgboost writes the same files.
"""

import json
import os
import sys

import numpy as np
import xgboost as xgb
from sklearn import datasets

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                   "components", "serving", "modelserver", "testdata", "xgboost")
ROWS = 12  # test rows per case (a few of them with missing values)


def with_missing(x, rng, share):
    """A copy of x with a share of its entries replaced by NaN (missing)."""
    x = x.copy()
    x[rng.random(x.shape) < share] = np.nan
    return x


def test_rows(x, rng):
    """ROWS rows of x, the last three with missing values (one entirely missing)."""
    rows = x[rng.choice(len(x), ROWS, replace=False)].copy()
    rows[-3, 0] = np.nan
    rows[-2, rng.choice(x.shape[1], max(1, x.shape[1] // 2), replace=False)] = np.nan
    rows[-1, :] = np.nan
    return rows


def case(name, params, x, y, rounds, rows, dmatrix=None, note=""):
    """Train one booster, save it in both formats and return its cases.json entry."""
    params = dict(params, seed=7, nthread=1)
    dtrain = dmatrix(x, y) if dmatrix else xgb.DMatrix(x, label=y)
    booster = xgb.train(params, dtrain, num_boost_round=rounds)
    for ext in ("json", "ubj"):
        booster.save_model(os.path.join(OUT, name + "." + ext))
    dtest = dmatrix(rows, None) if dmatrix else xgb.DMatrix(rows)
    predict = booster.predict(dtest)
    margin = booster.predict(dtest, output_margin=True)
    assert predict.dtype == np.float32 and margin.dtype == np.float32
    return {
        "name": name,
        "note": note,
        "objective": params["objective"],
        "booster": params.get("booster", "gbtree"),
        "num_feature": int(x.shape[1]),
        # null marks a missing value (NaN), which JSON cannot spell
        "rows": [[None if np.isnan(v) else float(v) for v in r] for r in rows],
        "predict": [float(v) for v in predict.ravel()],
        "predict_shape": list(predict.shape),
        "margin": [float(v) for v in margin.ravel()],
        "margin_shape": list(margin.shape),
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(13)
    iris_x, iris_y = datasets.load_iris(return_X_y=True)
    diab_x, diab_y = datasets.load_diabetes(return_X_y=True)
    bc_x, bc_y = datasets.load_breast_cancer(return_X_y=True)
    # five features of breast cancer keep the cases small; trees pick from them all the same
    bc_x = bc_x[:, [0, 1, 6, 7, 20]]
    tree = {"max_depth": 3, "eta": 0.3}
    cases = []

    diab_nan = with_missing(diab_x, rng, 0.1)
    cases.append(case("reg_squarederror", dict(tree, objective="reg:squarederror"),
                      diab_nan, diab_y, 6, test_rows(diab_x, rng),
                      note="raw diabetes targets (25-346): float32 sums must match exactly"))
    cases.append(case("reg_squarederror_base_score",
                      dict(tree, objective="reg:squarederror", base_score=150.0),
                      diab_x, diab_y, 4, test_rows(diab_x, rng),
                      note="base_score in margin space (identity)"))
    bc_nan = with_missing(bc_x, rng, 0.1)
    cases.append(case("binary_logistic", dict(tree, objective="binary:logistic"),
                      bc_nan, bc_y, 6, test_rows(bc_x, rng),
                      note="learned default directions for missing values"))
    cases.append(case("binary_logistic_base_score",
                      dict(tree, objective="binary:logistic", base_score=0.3),
                      bc_x, bc_y, 4, test_rows(bc_x, rng),
                      note="base_score 0.3 is a probability: margin logit(0.3)"))
    cases.append(case("reg_logistic", dict(tree, objective="reg:logistic", base_score=0.7),
                      bc_x, bc_y, 4, test_rows(bc_x, rng)))
    cases.append(case("binary_logitraw", dict(tree, objective="binary:logitraw", base_score=0.2),
                      bc_x, bc_y, 4, test_rows(bc_x, rng),
                      note="logitraw takes base_score as a margin"))
    iris_nan = with_missing(iris_x, rng, 0.1)
    cases.append(case("multi_softprob", dict(tree, objective="multi:softprob", num_class=3),
                      iris_nan, iris_y, 4, test_rows(iris_x, rng)))
    cases.append(case("multi_softmax_parallel_tree",
                      dict(tree, objective="multi:softmax", num_class=3, num_parallel_tree=2,
                           subsample=0.8, colsample_bynode=0.8),
                      iris_x, iris_y, 3, test_rows(iris_x, rng),
                      note="two trees per class per round: tree_info orders the groups"))
    small_y = diab_y / 100.0  # keeps exp(margin) near 1, where float32 resolves 1e-7
    cases.append(case("count_poisson", dict(tree, objective="count:poisson"),
                      diab_x, small_y, 5, test_rows(diab_x, rng)))
    cases.append(case("reg_tweedie",
                      dict(tree, objective="reg:tweedie", tweedie_variance_power=1.4,
                           base_score=1.5),
                      diab_x, small_y, 5, test_rows(diab_x, rng)))
    cases.append(case("reg_gamma", dict(tree, objective="reg:gamma", base_score=2.0),
                      diab_x, small_y, 5, test_rows(diab_x, rng)))

    qid_size = 40
    n = (len(bc_x) // qid_size) * qid_size

    def ranking(x, y):
        d = xgb.DMatrix(x, label=y)
        if y is not None:
            d.set_group([qid_size] * (len(x) // qid_size))
        return d
    cases.append(case("rank_pairwise", dict(tree, objective="rank:pairwise"),
                      bc_x[:n], bc_y[:n], 4, test_rows(bc_x, rng), dmatrix=ranking,
                      note="ranking scores are margins"))
    cases.append(case("dart_binary_logistic",
                      dict(tree, objective="binary:logistic", booster="dart", rate_drop=0.3,
                           skip_drop=0.0),
                      bc_x, bc_y, 6, test_rows(bc_x, rng),
                      note="dart: every tree scaled by its weight_drop"))
    cases.append(case("gblinear_squarederror",
                      {"booster": "gblinear", "objective": "reg:squarederror", "eta": 0.5,
                       "lambda": 0.1},
                      diab_nan, diab_y, 8, test_rows(diab_x, rng),
                      note="linear booster: missing features contribute nothing"))
    cases.append(case("gblinear_softprob",
                      {"booster": "gblinear", "objective": "multi:softprob", "num_class": 3,
                       "eta": 0.5},
                      iris_x, iris_y, 6, test_rows(iris_x, rng)))

    # categorical splits: feature 0 has 8 categories (partition splits), feature 1 three
    # (one-hot splits), feature 2 is numeric
    m = 400
    cat_a = rng.integers(0, 8, m).astype(np.float64)
    cat_b = rng.integers(0, 3, m).astype(np.float64)
    num = rng.normal(size=m)
    cat_x = np.stack([cat_a, cat_b, num], axis=1)
    cat_y = (np.isin(cat_a, [1, 4, 6]).astype(float) + 0.5 * (cat_b == 2) + 0.3 * num
             + 0.1 * rng.normal(size=m))
    cat_x[rng.random(cat_x.shape) < 0.05] = np.nan

    def categorical(x, y):
        return xgb.DMatrix(x, label=y, feature_types=["c", "c", "q"], enable_categorical=True)
    cat_rows = test_rows(cat_x[~np.isnan(cat_x).any(axis=1)], rng)
    cat_rows[0, 0] = 9   # a category never seen in training goes left
    cat_rows[1, 0] = 40  # beyond the split's bit field: left as well
    cases.append(case("categorical",
                      dict(tree, objective="reg:squarederror", tree_method="hist",
                           max_cat_to_onehot=4),
                      cat_x, cat_y, 5, cat_rows, dmatrix=categorical,
                      note="categorical splits: categories in the set go right"))

    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump({"xgboost": xgb.__version__, "generator": "hack/serving-fixtures/make_fixtures.py",
                   "cases": cases}, f, indent=None, separators=(",", ":"))
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(OUT, p)) for p in os.listdir(OUT))
    print(f"wrote {len(cases)} cases to {os.path.relpath(OUT)} ({total // 1024} KiB, "
          f"xgboost {xgb.__version__})", file=sys.stderr)


if __name__ == "__main__":
    main()
