"""Typed Python client of the attnserve gRPC API (attnserve.v1.Inference + grpc.health.v1)."""
from __future__ import annotations

import dataclasses
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Union

import grpc

try:
    from attnserve_client._gen.attnserve.v1 import attnserve_pb2 as pb
    from attnserve_client._gen.attnserve.v1 import attnserve_pb2_grpc as pb_grpc
    from attnserve_client._gen.grpc.health.v1 import health_pb2
    from attnserve_client._gen.grpc.health.v1 import health_pb2_grpc
except ImportError as e:  # pragma: no cover - depends on the checkout's state
    raise ImportError(
        "attnserve_client's generated stubs are missing: run client/python/generate_stubs.sh "
        "(or pip install client/python, which runs it)") from e

try:
    import numpy as np
except ImportError:  # numpy is optional: embeddings are then plain lists
    np = None

_POOLING = {None: pb.POOLING_UNSPECIFIED, "": pb.POOLING_UNSPECIFIED,
            "mean": pb.POOLING_MEAN, "cls": pb.POOLING_CLS, "max": pb.POOLING_MAX,
            "mean_sqrt_len_tokens": pb.POOLING_MEAN_SQRT_LEN,
            "weightedmean": pb.POOLING_WEIGHTED_MEAN, "lasttoken": pb.POOLING_LAST_TOKEN}
_TRUNCATION = {None: pb.TRUNCATION_DIRECTION_UNSPECIFIED,
               "right": pb.TRUNCATION_DIRECTION_RIGHT, "left": pb.TRUNCATION_DIRECTION_LEFT}


class AttnserveError(Exception):
    """A call failed; `code` is the grpc.StatusCode, `details` the server's message."""

    def __init__(self, code: grpc.StatusCode, details: str):
        super().__init__("%s: %s" % (code.name, details))
        self.code = code
        self.details = details


@dataclasses.dataclass
class Usage:
    input_tokens: int
    output_tokens: int


@dataclasses.dataclass
class Hypothesis:
    text: str
    score: float
    token_ids: List[int]


@dataclasses.dataclass
class Translation:
    hypotheses: List[Hypothesis]  # best first
    input_tokens: int
    truncated: bool

    @property
    def text(self) -> str:
        """The best hypothesis' text."""
        return self.hypotheses[0].text if self.hypotheses else ""


@dataclasses.dataclass
class StreamEvent:
    """One TranslateStream message: a greedy text delta and/or a finished text."""
    index: int
    text_delta: str
    token_ids: List[int]
    finished: bool
    translation: Optional[Translation]  # set when `finished`
    usage: Optional[Usage]  # set on the stream's last message only


@dataclasses.dataclass
class TokenizedText:
    token_ids: List[int]
    pieces: List[str]
    truncated: bool
    # Rerank/Classify models: the token type of each id (empty for other models).
    token_type_ids: List[int] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class RerankResult:
    index: int  # position of the text in the call's `texts`
    score: float
    text: Optional[str]  # with return_texts=True


@dataclasses.dataclass
class LabelScore:
    label: str  # config.json id2label
    id: int
    score: float


@dataclasses.dataclass
class Classification:
    labels: List[LabelScore]  # best first
    input_tokens: int
    truncated: bool


@dataclasses.dataclass
class ModelInfo:
    name: str
    path: str
    architecture: str
    task: str  # "encode" | "translate" | "rerank" | "classify"
    state: str  # "loading" | "ready" | "failed"
    error: str
    max_input_tokens: int
    embedding_dimensions: int
    source_languages: List[str]
    target_languages: List[str]
    raw: "pb.ModelInfo"  # every field, as the server sent it
    prompts: Dict[str, str] = dataclasses.field(default_factory=dict)  # encode models
    default_prompt_name: str = ""
    labels: List[str] = dataclasses.field(default_factory=list)  # rerank/classify models


def _enum_name(enum, value: int, prefix: str) -> str:
    return enum.Name(value)[len(prefix):].lower()


def _translation(t) -> Translation:
    return Translation(
        hypotheses=[Hypothesis(h.text, h.score, list(h.token_ids)) for h in t.hypotheses],
        input_tokens=t.input_tokens, truncated=t.truncated)


def _model_info(m) -> ModelInfo:
    return ModelInfo(
        name=m.name, path=m.path, architecture=m.architecture,
        task=_enum_name(pb.Task, m.task, "TASK_"),
        state=_enum_name(pb.ModelState, m.state, "MODEL_STATE_"), error=m.error,
        max_input_tokens=m.max_input_tokens, embedding_dimensions=m.embedding_dimensions,
        source_languages=list(m.source_languages), target_languages=list(m.target_languages),
        raw=m, prompts=dict(m.prompts), default_prompt_name=m.default_prompt_name,
        labels=list(m.labels))


def _read(path: Optional[str]) -> Optional[bytes]:
    if path is None:
        return None
    with open(path, "rb") as f:
        return f.read()


def _texts(texts: Union[str, Iterable[str]]) -> List[str]:
    return [texts] if isinstance(texts, str) else list(texts)


class Client:
    """Connection to one attnserve server.

    Client("127.0.0.1:50051", token="...", tls=True, tls_ca="ca.pem") -- `tls_cert`/`tls_key`
    add a client certificate (mutual TLS). `timeout` (seconds) is every call's default
    deadline. Failed calls raise AttnserveError. Use as a context manager or call close().
    """

    def __init__(self, target: str = "127.0.0.1:50051", token: Optional[str] = None,
                 tls: bool = False, tls_ca: Optional[str] = None,
                 tls_cert: Optional[str] = None, tls_key: Optional[str] = None,
                 timeout: Optional[float] = 30.0,
                 options: Sequence[tuple] = ()):
        if (tls_ca or tls_cert or tls_key) and not tls:
            raise ValueError("tls_ca/tls_cert/tls_key need tls=True")
        if bool(tls_cert) != bool(tls_key):
            raise ValueError("mutual TLS needs both tls_cert and tls_key")
        if tls:
            creds = grpc.ssl_channel_credentials(
                root_certificates=_read(tls_ca), private_key=_read(tls_key),
                certificate_chain=_read(tls_cert))
            self._channel = grpc.secure_channel(target, creds, options=list(options))
        else:
            self._channel = grpc.insecure_channel(target, options=list(options))
        self._metadata = (("authorization", "Bearer " + token),) if token else ()
        self._timeout = timeout
        self._stub = pb_grpc.InferenceStub(self._channel)
        self._health = health_pb2_grpc.HealthStub(self._channel)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _call(self, method, request, timeout):
        try:
            return method(request, timeout=self._timeout if timeout is None else timeout,
                          metadata=self._metadata)
        except grpc.RpcError as e:
            raise AttnserveError(e.code(), e.details()) from None

    def encode(self, texts: Union[str, Iterable[str]], model: str = "",
               pooling: Optional[str] = None, normalize: Optional[bool] = None,
               truncate: bool = False, as_numpy: bool = True,
               timeout: Optional[float] = None, prompt_name: Optional[str] = None,
               prompt: Optional[str] = None, dimensions: int = 0,
               truncation_direction: Optional[str] = None) -> list:
        """Embeddings of `texts`, in order: float32 numpy arrays (lists without numpy or with
        as_numpy=False). pooling: None (model default) | "mean" | "cls" | "max" |
        "mean_sqrt_len_tokens" | "weightedmean" | "lasttoken" (sentence-transformers' names).
        prompt_name: one of the model's prompts (ModelInfo.prompts; None: its default);
        prompt: a literal prefix instead; dimensions: keep the first N values (Matryoshka,
        0 = all; re-normalized only with normalize=True); truncation_direction: None | "right" |
        "left" (where truncate cuts)."""
        if pooling not in _POOLING:
            raise ValueError("pooling=%r is not one of mean, cls, max, mean_sqrt_len_tokens, "
                             "weightedmean, lasttoken" % (pooling,))
        if truncation_direction not in _TRUNCATION:
            raise ValueError("truncation_direction=%r is not one of right, left" %
                             (truncation_direction,))
        request = pb.EncodeRequest(model=model, texts=_texts(texts), truncate=truncate,
                                   pooling=_POOLING[pooling], dimensions=dimensions,
                                   truncation_direction=_TRUNCATION[truncation_direction])
        if normalize is not None:
            request.normalize = normalize
        if prompt_name is not None:
            request.prompt_name = prompt_name
        if prompt is not None:
            request.prompt = prompt
        response = self._call(self._stub.Encode, request, timeout)
        if as_numpy and np is not None:
            return [np.asarray(e.values, dtype=np.float32) for e in response.embeddings]
        return [list(e.values) for e in response.embeddings]

    @staticmethod
    def _translate_request(texts, model, beam_size, max_new_tokens, num_hypotheses,
                           length_penalty, target_language, truncate, early_stopping):
        request = pb.TranslateRequest(
            model=model, texts=_texts(texts), beam_size=beam_size,
            max_new_tokens=max_new_tokens, num_hypotheses=num_hypotheses, truncate=truncate)
        if length_penalty is not None:
            request.length_penalty = length_penalty
        if target_language is not None:
            request.target_language = target_language
        if early_stopping is not None:
            request.early_stopping = early_stopping
        return request

    def translate(self, texts: Union[str, Iterable[str]], model: str = "",
                  beam_size: int = 0, max_new_tokens: int = 0, num_hypotheses: int = 0,
                  length_penalty: Optional[float] = None,
                  target_language: Optional[str] = None, truncate: bool = False,
                  early_stopping: Optional[bool] = None,
                  timeout: Optional[float] = None) -> List[Translation]:
        """Translations of `texts`, in order; 0 / None mean the model's defaults."""
        request = self._translate_request(texts, model, beam_size, max_new_tokens,
                                          num_hypotheses, length_penalty, target_language,
                                          truncate, early_stopping)
        response = self._call(self._stub.Translate, request, timeout)
        return [_translation(t) for t in response.translations]

    def translate_stream(self, texts: Union[str, Iterable[str]], model: str = "",
                         beam_size: int = 0, max_new_tokens: int = 0,
                         num_hypotheses: int = 0, length_penalty: Optional[float] = None,
                         target_language: Optional[str] = None, truncate: bool = False,
                         early_stopping: Optional[bool] = None,
                         timeout: Optional[float] = None) -> Iterator[StreamEvent]:
        """Yields StreamEvents as the server decodes (greedy: text deltas per index)."""
        request = self._translate_request(texts, model, beam_size, max_new_tokens,
                                          num_hypotheses, length_penalty, target_language,
                                          truncate, early_stopping)
        try:
            for m in self._stub.TranslateStream(
                    request, timeout=self._timeout if timeout is None else timeout,
                    metadata=self._metadata):
                yield StreamEvent(
                    index=m.index, text_delta=m.text_delta, token_ids=list(m.token_ids),
                    finished=m.finished,
                    translation=_translation(m.translation) if m.HasField("translation") else None,
                    usage=Usage(m.usage.input_tokens, m.usage.output_tokens)
                    if m.HasField("usage") else None)
        except grpc.RpcError as e:
            raise AttnserveError(e.code(), e.details()) from None

    def rerank(self, query: str, texts: Union[str, Iterable[str]], model: str = "",
               top_n: int = 0, return_texts: bool = False, raw_scores: bool = False,
               truncate: bool = False, timeout: Optional[float] = None) -> List[RerankResult]:
        """Scores of (query, text) pairs from a 1-label cross-encoder, best first (ties in
        request order): what CrossEncoder(folder).predict returns (the logits with
        raw_scores=True). top_n: results returned, 0 = all; truncate: cut over-long pairs
        (longest_first, as CrossEncoder does) instead of failing."""
        request = pb.RerankRequest(model=model, query=query, texts=_texts(texts), top_n=top_n,
                                   return_texts=return_texts, raw_scores=raw_scores,
                                   truncate=truncate)
        response = self._call(self._stub.Rerank, request, timeout)
        return [RerankResult(r.index, r.score, r.text if return_texts else None)
                for r in response.results]

    def classify(self, texts: Union[str, Iterable[str]],
                 text_pairs: Optional[Iterable[str]] = None, model: str = "", top_k: int = 0,
                 raw_scores: bool = False, truncate: bool = False,
                 timeout: Optional[float] = None) -> List[Classification]:
        """Label scores of each text (or (text, text_pair)), in order, labels best first:
        what transformers' pipeline("text-classification")(..., top_k=None) returns (the
        logits with raw_scores=True). text_pairs: None or one per text ("" = the text alone);
        top_k: labels per text, 0 = all."""
        request = pb.ClassifyRequest(model=model, texts=_texts(texts),
                                     text_pairs=[] if text_pairs is None else _texts(text_pairs),
                                     top_k=top_k, raw_scores=raw_scores, truncate=truncate)
        response = self._call(self._stub.Classify, request, timeout)
        return [Classification([LabelScore(l.label, l.id, l.score) for l in c.labels],
                               c.input_tokens, c.truncated)
                for c in response.classifications]

    def tokenize(self, texts: Union[str, Iterable[str]], model: str = "",
                 truncate: bool = False, target_language: Optional[str] = None,
                 timeout: Optional[float] = None,
                 truncation_direction: Optional[str] = None,
                 text_pairs: Optional[Iterable[str]] = None) -> List[TokenizedText]:
        """text_pairs (Rerank/Classify models): as classify's."""
        if truncation_direction not in _TRUNCATION:
            raise ValueError("truncation_direction=%r is not one of right, left" %
                             (truncation_direction,))
        request = pb.TokenizeRequest(model=model, texts=_texts(texts), truncate=truncate,
                                     truncation_direction=_TRUNCATION[truncation_direction],
                                     text_pairs=[] if text_pairs is None else _texts(text_pairs))
        if target_language is not None:
            request.target_language = target_language
        response = self._call(self._stub.Tokenize, request, timeout)
        return [TokenizedText(list(t.token_ids), list(t.pieces), t.truncated,
                              list(t.token_type_ids))
                for t in response.texts]

    def health(self, service: str = "", timeout: Optional[float] = None) -> str:
        """"SERVING", "NOT_SERVING", ... of the server ("") or of one service."""
        response = self._call(self._health.Check,
                              health_pb2.HealthCheckRequest(service=service), timeout)
        return health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)

    def models(self, timeout: Optional[float] = None) -> List[ModelInfo]:
        response = self._call(self._stub.ListModels, pb.ListModelsRequest(), timeout)
        return [_model_info(m) for m in response.models]

    def model(self, name: str, timeout: Optional[float] = None) -> ModelInfo:
        return _model_info(self._call(self._stub.GetModel, pb.GetModelRequest(name=name),
                                      timeout))
