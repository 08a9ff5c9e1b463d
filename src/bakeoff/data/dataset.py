"""Labelled text (single sentences or pairs) per split, and the seeded, stratified ways to cut it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np


@dataclass
class TextDataset:
    """One split: texts, optional second texts (pairs), integer labels."""

    texts: list[str]
    labels: np.ndarray  # (n,) int64 class ids; (n,) float32 scores (regression); (n, labels) 0/1 (multi-label)
    pairs: list[str] | None = None
    source: str = ""

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, indices: np.ndarray) -> TextDataset:
        indices = np.asarray(indices, dtype=np.int64)
        return TextDataset(
            texts=[self.texts[i] for i in indices], labels=self.labels[indices],
            pairs=[self.pairs[i] for i in indices] if self.pairs is not None else None, source=self.source,
        )

    def fingerprint(self) -> str:
        """sha256 (16 hex digits) of the rows in order: two runs used the same data iff these match."""
        digest = hashlib.sha256()
        for i, text in enumerate(self.texts):
            pair = self.pairs[i] if self.pairs is not None else ""
            digest.update(f"{text}\x1f{pair}\x1f{_label_text(self.labels[i])}\x1e".encode())
        return digest.hexdigest()[:16]


def _label_text(label: np.ndarray) -> str:
    """A row's label as the fingerprint spells it: the class id (as before problem types), the score, or the ids
    of a label set."""
    if np.ndim(label):
        return "{" + ",".join(map(str, np.flatnonzero(label).tolist())) + "}"
    if np.issubdtype(np.asarray(label).dtype, np.floating):
        return repr(float(label))
    return str(int(label))


@dataclass
class TaskData:
    """Everything a run trains and evaluates on."""

    task: str
    label_names: list[str]
    train: TextDataset
    validation: TextDataset
    test: TextDataset | None = None
    primary_metric: str = "accuracy"
    notes: list[str] = field(default_factory=list)  # how the splits were made, for the record
    problem_type: str = "single_label"  # a name in bakeoff.problems.PROBLEMS

    @property
    def pair(self) -> bool:
        return self.train.pairs is not None

    def fingerprints(self) -> dict[str, str]:
        splits = {"train": self.train, "validation": self.validation, "test": self.test}
        return {name: split.fingerprint() for name, split in splits.items() if split is not None}

    def sizes(self) -> dict[str, int]:
        splits = {"train": self.train, "validation": self.validation, "test": self.test}
        return {name: len(split) for name, split in splits.items() if split is not None}


def stratified_split(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (rest, part): ``part`` holds ``fraction`` of each class, chosen by ``seed``.

    >>> rest, part = stratified_split(np.array([0] * 8 + [1] * 2), 0.5, seed=0)
    >>> sorted(np.bincount(np.array([0] * 8 + [1] * 2)[part]).tolist())
    [1, 4]
    """
    rng = np.random.default_rng(seed)
    part = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        take = int(round(len(members) * fraction))
        part.extend(rng.permutation(members)[:take].tolist())
    part_index = np.sort(np.array(part, dtype=np.int64))
    rest = np.setdiff1d(np.arange(len(labels)), part_index)
    return rest, part_index


def nested_fraction(labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Indices of a stratified ``fraction`` of the rows; for one seed, a smaller fraction is a subset of a larger.

    Each class is permuted once by ``seed``; a fraction takes the first ``ceil(n_c * fraction)`` of it.
    """
    if fraction >= 1.0:
        return np.arange(len(labels))
    rng = np.random.default_rng(seed)
    chosen = []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        chosen.extend(members[: max(1, int(np.ceil(len(members) * fraction)))].tolist())
    return np.sort(np.array(chosen, dtype=np.int64))
