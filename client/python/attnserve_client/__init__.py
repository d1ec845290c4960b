"""attnserve_client: Python client of the attnserve model server.

    from attnserve_client import Client
    with Client("127.0.0.1:50051") as c:
        vectors = c.encode(["Hello world."], model="minilm")
        print(c.translate(["Hello world."], model="en-de")[0].text)
        best = c.rerank("what is attnserve?", ["a model server", "a cake"], model="reranker")[0]
"""
from attnserve_client.client import (AttnserveError, Classification, Client, Hypothesis,
                                     LabelScore, ModelInfo, RerankResult, StreamEvent,
                                     TokenizedText, Translation, Usage)

__all__ = ["AttnserveError", "Classification", "Client", "Hypothesis", "LabelScore",
           "ModelInfo", "RerankResult", "StreamEvent", "TokenizedText", "Translation", "Usage"]
