"""paralens.BooleanClassifier: scikit-learn's own estimator checks, and what tabular users do with it."""

import pickle

import numpy as np
import pytest
from sklearn.datasets import load_iris, load_wine
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import parametrize_with_checks

import paralens
from paralens.boolean.estimator import BooleanClassifier

# small and fast enough for the ~55 checks (each fits a few times); still above their accuracy bars
SMALL = dict(gates=60, epochs=60)


@parametrize_with_checks([BooleanClassifier(**SMALL), BooleanClassifier("vote", luts=8, epochs=4)])
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def test_importable_from_the_package_top():
    assert paralens.BooleanClassifier is BooleanClassifier
    assert paralens.boolean.BooleanClassifier is BooleanClassifier


@pytest.fixture(scope="module")
def wine():
    X, y = load_wine(return_X_y=True)
    names = np.array(["barolo", "grignolino", "barbera"], dtype=object)[y]
    return train_test_split(X, names, test_size=0.2, stratify=y, random_state=0)


def test_wine_with_string_labels_float_features_in_the_thousands(wine):
    Xtr, Xte, ytr, yte = wine
    clf = BooleanClassifier(seed=0).fit(Xtr, ytr)
    assert list(clf.classes_) == ["barbera", "barolo", "grignolino"]
    assert set(clf.predict(Xte)) <= set(clf.classes_)
    assert clf.score(Xte, yte) >= 0.9
    assert clf.n_features_in_ == 13 and clf.n_gates_ > 0 and clf.depth_ > 0
    assert clf.classifier_gates_ > clf.n_gates_ and clf.classifier_depth_ > clf.depth_
    proline = clf.model_.inputs.features[12]
    assert proline.width == 11 and proline.decimals == 0  # 278 .. 1680: the real range, not 8 bits
    p = clf.predict_proba(Xte)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.classes_[p.argmax(axis=1)], clf.predict(Xte))


def test_hyperparameters_of_another_method_are_errors():
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match=r"lut_inputs=4 applies to method 'rda' or 'vote', not 'gates'"):
        BooleanClassifier(lut_inputs=4).fit(X, y)
    with pytest.raises(ValueError, match=r"learning_rate=0.1 applies to method 'gates', not 'vote'"):
        BooleanClassifier("vote", learning_rate=0.1).fit(X, y)
    with pytest.raises(ValueError, match="method must be one of gates, rda, vote"):
        BooleanClassifier("tree").fit(X, y)
    with pytest.raises(ValueError, match="bits must be an integer >= 1"):
        BooleanClassifier(bits=0).fit(X, y)


def test_grid_search_over_two_hyperparameters_and_a_pipeline():
    X, y = load_iris(return_X_y=True)
    grid = GridSearchCV(BooleanClassifier(epochs=30), {"gates": [30, 60], "bits": [2, 4]}, cv=3)
    grid.fit(X, y)
    assert set(grid.best_params_) == {"gates", "bits"} and grid.best_score_ > 0.8
    assert len(grid.cv_results_["mean_test_score"]) == 4
    pipe = make_pipeline(FunctionTransformer(lambda a: a * 10), BooleanClassifier(**SMALL))
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.mean() > 0.8


@pytest.mark.parametrize("method", ["rda", "vote"])
def test_the_lookup_table_methods_learn_iris(method):
    X, y = load_iris(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, stratify=y, random_state=0)
    clf = BooleanClassifier(method).fit(Xtr, ytr)
    assert clf.score(Xte, yte) >= 0.85
    assert clf.model_.decoder.bits_per_class == 32


def test_dataframes_give_feature_names_and_text_columns_are_one_hot(tmp_path):
    pd = pytest.importorskip("pandas")  # a test dependency (the [dev] extra), not paralens'
    rng = np.random.default_rng(0)
    colour = rng.choice(["red", "green", "blue"], 200)
    size = rng.integers(-300, 300, 200)
    y = np.where((colour == "red") | (size > 150), "yes", "no")
    df = pd.DataFrame({"colour": colour, "size (mm)": size})
    clf = BooleanClassifier(**SMALL).fit(df, y)
    assert list(clf.feature_names_in_) == ["colour", "size (mm)"]
    f = clf.model_.inputs.features
    assert f[0].kind == "category" and f[1].signed and f[1].width == 10
    assert clf.score(df, y) >= 0.95
    path = tmp_path / "m.plc"
    clf.save(path)
    back = BooleanClassifier.load(path)
    np.testing.assert_array_equal(back.predict(df), clf.predict(df))
    assert list(back.feature_names_in_) == ["colour", "size (mm)"] and back.get_params() == clf.get_params()
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict(df), clf.predict(df))


def test_nan_is_an_error_naming_the_column():
    X, y = load_iris(return_X_y=True)
    clf = BooleanClassifier(**SMALL).fit(X, y)
    X = X.copy()
    X[7, 2] = np.nan
    with pytest.raises(ValueError, match="feature 'x2' is NaN in sample 7"):
        clf.predict(X)
