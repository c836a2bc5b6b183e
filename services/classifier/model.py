"""The statistical model at classification time: exported weights read with numpy, never pickle.

A model file (`<version>.npz`) holds one vocabulary with its idf weights and one linear head per
question: `class` (arkivverdig / offisiell / privat) and `department` (department keys). It is
scikit-learn's TF-IDF + logistic regression, recomputed here with the same `model_terms`, so that
inference needs neither scikit-learn nor anything that can execute code from a file.
"""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from services.classifier.modelterms import model_terms, readable

CLASS_HEAD = "class"
DEPARTMENT_HEAD = "department"
HEADS = (CLASS_HEAD, DEPARTMENT_HEAD)

Floats = npt.NDArray[np.float64]
# The count key of a term the vocabulary does not know.
_UNKNOWN = -1


class ModelError(ValueError):
    """A model file cannot be used; the message names the file."""


@dataclass(frozen=True, slots=True)
class Head:
    labels: tuple[str, ...]
    coef: Floats  # (labels, terms)
    intercept: Floats  # (labels,)


@dataclass(frozen=True, slots=True)
class Vector:
    """One text in the model's space: the indices of its known terms and their TF-IDF weights."""

    indices: npt.NDArray[np.int64]
    weights: Floats


class TextModel:
    def __init__(
        self,
        version: str,
        terms: list[str],
        idf: Floats,
        heads: dict[str, Head],
        meta: dict[str, Any],
    ) -> None:
        self.version = version
        self.terms = terms
        self._index = {term: i for i, term in enumerate(terms)}
        self.idf = idf
        self.heads = heads
        self.meta = meta

    def vector(self, text: str) -> Vector:
        # Looked up and counted in C (map, Counter); unknown terms count under -1, dropped after.
        # The order of first appearance is kept, so every sum below adds in the same order.
        counts = Counter(map(self._index.get, model_terms(text), itertools.repeat(_UNKNOWN)))
        counts.pop(_UNKNOWN, None)
        indices = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        # sublinear tf, as TfidfVectorizer(sublinear_tf=True), then l2 norm; math.log, as before,
        # not numpy's log, whose last bit may differ.
        tf = 1.0 + np.fromiter(map(math.log, counts.values()), np.float64, len(counts))
        weights = tf * self.idf[indices]
        norm = float(np.sqrt(weights @ weights))
        return Vector(indices, weights / norm if norm else weights)

    def probabilities(self, head: str, vector: Vector) -> dict[str, float]:
        model = self.heads[head]
        logits = model.coef[:, vector.indices] @ vector.weights + model.intercept
        exp = np.exp(logits - logits.max())
        probs = exp / exp.sum()
        return {label: float(p) for label, p in zip(model.labels, probs, strict=True)}

    def strongest_terms(
        self, head: str, label: str, vector: Vector, count: int = 8
    ) -> list[tuple[str, float]]:
        """The terms of this text that pushed most towards `label` (above the mean label): what
        `sakspost classify --explain` shows. Never written into events."""
        model = self.heads[head]
        row = model.labels.index(label)
        coef = model.coef[:, vector.indices]
        contribution = (coef[row] - coef.mean(axis=0)) * vector.weights
        order = np.argsort(-contribution)[:count]
        return [
            (readable(self.terms[vector.indices[i]]), round(float(contribution[i]), 3))
            for i in order
            if contribution[i] > 0
        ]


def save_model(
    path: Path,
    version: str,
    terms: list[str],
    idf: Floats,
    heads: dict[str, Head],
    meta: dict[str, Any],
) -> None:
    arrays: dict[str, Any] = {
        "version": np.array(version),
        # One joined string: a fixed-width string array would pad every term to the longest.
        "terms": np.array("\n".join(terms)),
        "idf": idf.astype(np.float32),
        "meta": np.array(json.dumps(meta, ensure_ascii=False, sort_keys=True)),
    }
    for name, head in heads.items():
        arrays[f"{name}.labels"] = np.array("\n".join(head.labels))
        arrays[f"{name}.coef"] = head.coef.astype(np.float32)
        arrays[f"{name}.intercept"] = head.intercept.astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        np.savez_compressed(handle, **arrays)


def load_model(path: Path) -> TextModel:
    try:
        with np.load(path, allow_pickle=False) as data:
            heads = {
                name: Head(
                    labels=tuple(str(data[f"{name}.labels"]).split("\n")),
                    coef=data[f"{name}.coef"].astype(np.float64),
                    intercept=data[f"{name}.intercept"].astype(np.float64),
                )
                for name in HEADS
            }
            return TextModel(
                version=str(data["version"]),
                terms=str(data["terms"]).split("\n"),
                idf=data["idf"].astype(np.float64),
                heads=heads,
                meta=json.loads(str(data["meta"])),
            )
    except (OSError, EOFError, KeyError, ValueError) as error:
        raise ModelError(f"{path}: not a usable model file ({error})") from None
