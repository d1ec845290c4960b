"""attnserve_client: Python client of the attnserve model server.

    from attnserve_client import Client
    with Client("127.0.0.1:50051") as c:
        vectors = c.encode(["Hello world."], model="minilm")
        print(c.translate(["Hello world."], model="en-de")[0].text)
"""
from attnserve_client.client import (AttnserveError, Client, Hypothesis, ModelInfo,
                                     StreamEvent, TokenizedText, Translation, Usage)

__all__ = ["AttnserveError", "Client", "Hypothesis", "ModelInfo", "StreamEvent",
           "TokenizedText", "Translation", "Usage"]
