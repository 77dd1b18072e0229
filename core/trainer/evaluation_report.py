"""The evaluation report of a finished network on the test set: accuracy, calibration, mistakes.

Computed from the logits (float, N x C) and true labels with numpy, in float64; every figure's
exact definition travels with it (DEFINITIONS), and tests check them against scikit-learn.
"""

from __future__ import annotations

from typing import Any

import numpy as np

ECE_BINS = 15  # equal-width confidence bins (Guo et al. 2017, "On Calibration of Modern NNs")
TOP_K = 5
MISTAKES = 25  # the most confident mistakes listed

DEFINITIONS = {
    "p": "softmax of the logits, computed in float64; confidence = max_c p_c, the prediction "
    "= argmax_c p_c (the lowest class index on a tie)",
    "top1_error": "fraction of test images whose prediction is not the true class",
    "top5_error": "fraction of test images whose true class is not among the 5 highest p_c "
    "(ties broken by class index); equals 1 - sklearn's top_k_accuracy_score(k=5)",
    "nll": "negative log-likelihood: mean over images of -ln p_true (natural log); sklearn's "
    "log_loss",
    "brier": "mean over images of sum over classes of (p_c - [c == true])^2, in [0, 2]; "
    "sklearn's multiclass brier_score_loss(scale_by_half=False), and the sum over classes of "
    "the one-vs-rest binary Brier scores",
    "ece": "expected calibration error: 15 equal-width confidence bins (i/15, (i+1)/15], the "
    "first also holding 0; sum over bins of (images in bin / N) x |accuracy in bin - mean "
    "confidence in bin|",
    "reliability": "per bin: its bounds, image count, accuracy and mean confidence (null for an "
    "empty bin): the reliability diagram's data",
    "per_class_accuracy": "per true class: correct / images of that class (recall); null for a "
    "class with no test images",
    "confusion_matrix": "counts, rows = true class, columns = predicted class",
    "confident_mistakes": f"the {MISTAKES} wrong predictions of highest confidence, most "
    "confident first (ties: lower test index first); index = position in the test set file",
}


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits.astype(np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    probabilities: np.ndarray = e / e.sum(axis=1, keepdims=True)
    return probabilities


def evaluation_report(
    logits: np.ndarray, labels: np.ndarray, classes: list[str] | None = None
) -> dict[str, Any]:
    """The report for logits (N x C) of a network on test images with labels (N ints)."""
    labels = np.asarray(labels, dtype=np.int64)
    n, c = logits.shape
    if labels.shape != (n,):
        raise ValueError(f"{labels.shape[0]} labels for {n} rows of logits")
    if n == 0:
        raise ValueError("no test images to report on")
    names = list(classes) if classes is not None else [str(i) for i in range(c)]
    p = softmax(logits)
    rows = np.arange(n)
    predicted = p.argmax(axis=1)
    confidence = p[rows, predicted]
    correct = predicted == labels

    k = min(TOP_K, c)
    # Stable sort on -p: among equal probabilities the lower class index ranks first.
    top_k = np.argsort(-p, axis=1, kind="stable")[:, :k]
    in_top_k = (top_k == labels[:, None]).any(axis=1)

    # log of a float64 softmax underflows only past ~745 nats; clipping there keeps it finite.
    nll = float(np.mean(-np.log(np.clip(p[rows, labels], 1e-300, None))))
    onehot = np.zeros_like(p)
    onehot[rows, labels] = 1.0
    brier = float(np.mean(np.sum((p - onehot) ** 2, axis=1)))

    confusion = np.zeros((c, c), dtype=np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    per_class_total = confusion.sum(axis=1)
    per_class = [
        float(confusion[i, i] / per_class_total[i]) if per_class_total[i] else None
        for i in range(c)
    ]

    reliability, ece = _reliability(confidence, correct)

    wrong = np.flatnonzero(~correct)
    order = wrong[np.lexsort((wrong, -confidence[wrong]))][:MISTAKES]
    mistakes = [
        {
            "index": int(i),
            "true": names[labels[i]],
            "predicted": names[predicted[i]],
            "confidence": float(confidence[i]),
        }
        for i in order
    ]
    return {
        "images": int(n),
        "classes": names,
        "top1_error": float(1.0 - correct.mean()),
        "top5_error": float(1.0 - in_top_k.mean()),
        "top_k": k,
        "nll": nll,
        "brier": brier,
        "ece": ece,
        "ece_bins": ECE_BINS,
        "reliability": reliability,
        "per_class_accuracy": per_class,
        "confusion_matrix": confusion.tolist(),
        "confident_mistakes": mistakes,
        "definitions": DEFINITIONS,
    }


def _reliability(confidence: np.ndarray, correct: np.ndarray) -> tuple[list[dict[str, Any]], float]:
    n = confidence.shape[0]
    # Bin i holds (i/15, (i+1)/15]; ceil maps a confidence of exactly i/15 to bin i-1.
    bins = np.clip(np.ceil(confidence * ECE_BINS).astype(np.int64) - 1, 0, ECE_BINS - 1)
    rows, ece = [], 0.0
    for b in range(ECE_BINS):
        members = bins == b
        count = int(members.sum())
        accuracy = float(correct[members].mean()) if count else None
        mean_confidence = float(confidence[members].mean()) if count else None
        if count:
            ece += count / n * abs(float(accuracy) - float(mean_confidence))  # type: ignore[arg-type]
        rows.append(
            {
                "lower": b / ECE_BINS,
                "upper": (b + 1) / ECE_BINS,
                "count": count,
                "accuracy": accuracy,
                "confidence": mean_confidence,
            }
        )
    return rows, float(ece)
