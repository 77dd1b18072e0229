"""The evaluation report's figures against scikit-learn's on the same predictions."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import (
    brier_score_loss,
    confusion_matrix,
    log_loss,
    top_k_accuracy_score,
)

from core.trainer.evaluation_report import ECE_BINS, MISTAKES, evaluation_report, softmax


def predictions(n: int = 2000, classes: int = 10, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Logits that are right about 60 % of the time, with a range of confidences."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, size=n)
    logits = rng.normal(0.0, 1.5, size=(n, classes)).astype(np.float32)
    logits[np.arange(n), labels] += rng.uniform(0.0, 4.0, size=n).astype(np.float32)
    return logits, labels


def test_report_figures_match_sklearn() -> None:
    logits, labels = predictions()
    classes = [f"class{i}" for i in range(10)]
    report = evaluation_report(logits, labels, classes)
    p = softmax(logits)
    everything = list(range(10))
    assert report["images"] == 2000
    assert report["nll"] == pytest.approx(log_loss(labels, p, labels=everything), rel=1e-9)
    assert report["brier"] == pytest.approx(
        brier_score_loss(labels, p, labels=everything, scale_by_half=False), rel=1e-9
    )
    one_vs_rest = sum(brier_score_loss(labels == c, p[:, c]) for c in everything)
    assert report["brier"] == pytest.approx(one_vs_rest, rel=1e-9)
    assert report["confusion_matrix"] == confusion_matrix(labels, p.argmax(1)).tolist()
    top1 = top_k_accuracy_score(labels, p, k=1, labels=everything)
    top5 = top_k_accuracy_score(labels, p, k=5, labels=everything)
    assert report["top1_error"] == pytest.approx(1 - top1, abs=1e-12)
    assert report["top5_error"] == pytest.approx(1 - top5, abs=1e-12)
    assert 0 < report["top5_error"] < report["top1_error"] < 1
    matrix = np.array(report["confusion_matrix"])
    assert report["per_class_accuracy"] == pytest.approx(list(matrix.diagonal() / matrix.sum(1)))


def test_report_ece_matches_a_direct_count() -> None:
    logits, labels = predictions(seed=1)
    report = evaluation_report(logits, labels)
    p = softmax(logits)
    confidence, correct = p.max(1), p.argmax(1) == labels
    edges = np.linspace(0, 1, ECE_BINS + 1)
    expected = 0.0
    for b, row in enumerate(report["reliability"]):
        inside = (confidence > edges[b]) & (confidence <= edges[b + 1])
        assert row["count"] == int(inside.sum())
        if inside.any():
            assert row["accuracy"] == pytest.approx(correct[inside].mean())
            assert row["confidence"] == pytest.approx(confidence[inside].mean())
            expected += inside.mean() * abs(correct[inside].mean() - confidence[inside].mean())
        else:
            assert row["accuracy"] is None and row["confidence"] is None
    assert sum(row["count"] for row in report["reliability"]) == 2000
    assert report["ece"] == pytest.approx(expected, rel=1e-9)
    assert report["ece"] > 0.0


def test_report_lists_the_most_confident_mistakes() -> None:
    logits, labels = predictions(seed=2)
    report = evaluation_report(logits, labels, [f"c{i}" for i in range(10)])
    p = softmax(logits)
    wrong = np.flatnonzero(p.argmax(1) != labels)
    expected = wrong[np.argsort(-p.max(1)[wrong], kind="stable")][:MISTAKES]
    mistakes = report["confident_mistakes"]
    assert [m["index"] for m in mistakes] == expected.tolist()
    first = mistakes[0]
    assert first["true"] == f"c{labels[first['index']]}"
    assert first["predicted"] == f"c{p[first['index']].argmax()}"
    assert first["predicted"] != first["true"]
    assert first["confidence"] == pytest.approx(p[first["index"]].max())
    confidences = [m["confidence"] for m in mistakes]
    assert confidences == sorted(confidences, reverse=True)


def test_report_of_a_perfect_confident_network() -> None:
    labels = np.arange(20) % 4
    logits = np.eye(4, dtype=np.float32)[labels] * 50.0
    report = evaluation_report(logits, labels)
    assert report["top1_error"] == 0.0 and report["top5_error"] == 0.0
    assert report["top_k"] == 4  # fewer classes than 5
    assert report["confident_mistakes"] == []
    assert report["nll"] == pytest.approx(0.0, abs=1e-12)
    assert report["reliability"][-1]["count"] == 20


def test_report_names_a_class_without_test_images() -> None:
    labels = np.array([0, 0, 1, 1])
    logits = np.eye(3, dtype=np.float32)[labels]
    report = evaluation_report(logits, labels)
    assert report["per_class_accuracy"] == [1.0, 1.0, None]


def test_report_refuses_mismatched_labels() -> None:
    with pytest.raises(ValueError, match="3 labels for 4 rows"):
        evaluation_report(np.zeros((4, 10), dtype=np.float32), np.zeros(3, dtype=np.int64))
