"""Writes tools/demo_reranker/example.json: the README's rerank example scored by
sentence-transformers' CrossEncoder on models/demo-reranker-topics (the reference of
tests/server/cross_encoder_server_test.cc BundledDemoRerankerMatchesCrossEncoder).

    .venv-oracle/bin/python tools/demo_reranker/example.py
"""
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QUERY = "which sentence is about animals?"
TEXTS = ["We waited for the truck.", "My sister saw a horse yesterday.",
         "Forget animals: he drew a guitar.", "The children found a banana.",
         "She bought a cat and a rabbit."]


def main():
    import sentence_transformers
    import torch
    from sentence_transformers import CrossEncoder
    torch.set_num_threads(1)
    model = CrossEncoder(os.path.join(ROOT, "models", "demo-reranker-topics"), device="cpu")
    scores = [float(s) for s in model.predict([(QUERY, t) for t in TEXTS])]
    doc = {"query": QUERY, "texts": TEXTS, "scores": scores,
           "order": sorted(range(len(TEXTS)), key=lambda i: -scores[i]),
           "versions": {"sentence-transformers": sentence_transformers.__version__,
                        "torch": torch.__version__}}
    with open(os.path.join(ROOT, "tools", "demo_reranker", "example.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(json.dumps(doc))


if __name__ == "__main__":
    main()
