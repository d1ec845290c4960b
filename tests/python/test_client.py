"""attnserve_client against a real attnserve-server with the golden tiny models."""
import numpy as np
import pytest

from conftest import golden_case, golden_cases, golden_tensor


def generated_ids(sequence):
    """Golden ids without the decoder-start token, up to and including the first </s>."""
    ids = []
    for t in sequence[1:]:
        ids.append(t)
        if t == 0:
            break
    return ids


def test_health(client):
    assert client.health() == "SERVING"


def test_models(client):
    models = {m.name: m for m in client.models()}
    assert set(models) == {"g", "t", "ce", "ml"}
    assert models["ce"].task == "rerank" and models["ce"].labels == ["LABEL_0"]
    assert models["ml"].task == "classify"
    assert models["ml"].labels == ["toxic", "insult", "threat", "spam"]
    assert models["g"].task == "encode" and models["g"].state == "ready"
    assert models["g"].embedding_dimensions == 64
    assert models["t"].task == "translate" and models["t"].architecture == "marian"
    assert client.model("t").name == "t"


@pytest.mark.parametrize("case", ["ascii", "accents", "cjk", "batch_padding", "long_truncated"])
def test_encode_matches_golden(client, case):
    c = golden_case("bert-tiny", case)
    want = golden_tensor("bert-tiny", case + ".mean_pooled_normalized")
    got = client.encode(c["texts"], model="g", truncate=True)
    assert len(got) == len(c["texts"])
    for i, v in enumerate(got):
        assert v.dtype == np.float32 and v.shape == (64,)
        np.testing.assert_allclose(v, want[i], atol=1e-5, err_msg="%s text %d" % (case, i))


def test_encode_without_normalize_is_the_mean(client):
    c = golden_case("bert-tiny", "ascii")
    want = golden_tensor("bert-tiny", "ascii.mean_pooled")
    got = client.encode(c["texts"], model="g", pooling="mean", normalize=False)
    np.testing.assert_allclose(got[0], want[0], atol=1e-5)
    assert client.encode("x", model="g", as_numpy=False)[0].__class__ is list


def test_encode_lasttoken_is_the_last_hidden_state(client):
    """sentence-transformers' pooling names reach the server: lasttoken is the hidden state of
    the text's last token ([SEP])."""
    c = golden_case("bert-tiny", "batch_padding")
    hidden = golden_tensor("bert-tiny", "batch_padding.last_hidden_state")
    got = client.encode(c["texts"], model="g", pooling="lasttoken", normalize=False)
    for i, n in enumerate(c["seq_lens"]):
        np.testing.assert_allclose(got[i], hidden[i, n - 1], atol=1e-4, err_msg="text %d" % i)


def test_encode_dimensions_prompts_and_left_truncation(attnserve_client, client):
    import grpc
    c = golden_case("bert-tiny", "ascii")
    full = golden_tensor("bert-tiny", "ascii.mean_pooled_normalized")[0]
    cut = client.encode(c["texts"], model="g", dimensions=8)[0]
    np.testing.assert_allclose(cut, full[:8], atol=1e-5)  # the pipeline's vector, cut
    unit = client.encode(c["texts"], model="g", dimensions=8, normalize=True)[0]
    np.testing.assert_allclose(unit, full[:8] / np.linalg.norm(full[:8]), atol=1e-5)
    # bert-tiny has sentence-transformers' two empty prompts: "query" changes nothing
    np.testing.assert_allclose(client.encode(c["texts"], model="g", prompt_name="query")[0],
                               full, atol=1e-5)
    assert client.model("g").prompts == {"query": "", "document": ""}
    with pytest.raises(attnserve_client.AttnserveError) as e:
        client.encode(["a"], model="g", prompt_name="search")
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT and "document, query" in e.value.details
    text = "one " + "word " * 400
    left = client.tokenize([text], model="g", truncate=True, truncation_direction="left")[0]
    right = client.tokenize([text], model="g", truncate=True)[0]
    assert len(left.token_ids) == len(right.token_ids) == 128
    assert left.pieces[1] == "word" and right.pieces[1] == "one"
    with pytest.raises(ValueError):
        client.encode(["a"], model="g", truncation_direction="middle")


def test_tokenize_matches_golden(client):
    c = golden_case("bert-tiny", "ascii")
    t = client.tokenize(c["texts"], model="g")[0]
    assert t.token_ids == c["input_ids"][0]
    assert t.pieces == c["tokens"][0]


def test_greedy_translate_matches_golden(client):
    c = golden_case("marian-tiny", "batch_padding")
    got = client.translate(c["texts"], model="t", beam_size=1, max_new_tokens=16)
    for i, t in enumerate(got):
        assert t.text == c["greedy"]["decoded"][i]
        assert t.hypotheses[0].token_ids == generated_ids(c["greedy"]["sequences"][i])


def test_beam_translate_nbest_matches_golden(client):
    c = golden_case("marian-tiny", "ascii")
    got = client.translate(c["texts"], model="t", beam_size=4, num_hypotheses=4,
                           max_new_tokens=16)[0]
    assert [h.text for h in got.hypotheses] == c["beam"]["all_4_decoded"][0]
    np.testing.assert_allclose([h.score for h in got.hypotheses],
                               c["beam"]["sequences_scores"][0], atol=1e-4)


def test_translate_stream_greedy_deltas(client):
    c = golden_case("marian-tiny", "batch_padding")
    events = list(client.translate_stream(c["texts"], model="t", beam_size=1,
                                          max_new_tokens=16))
    assert len(events) >= 2
    assert events[-1].usage is not None and events[-1].usage.output_tokens > 0
    assert all(e.usage is None for e in events[:-1])
    for i in range(len(c["texts"])):
        mine = [e for e in events if e.index == i]
        ids = [t for e in mine for t in e.token_ids]
        assert ids == generated_ids(c["greedy"]["sequences"][i])
        finished = [e for e in mine if e.finished]
        assert len(finished) == 1
        assert finished[0].translation.text == c["greedy"]["decoded"][i]
        assert "".join(e.text_delta for e in mine).strip() == c["greedy"]["decoded"][i]


def test_errors_carry_grpc_codes(attnserve_client, client):
    import grpc
    err = attnserve_client.AttnserveError
    with pytest.raises(err) as e:
        client.encode(["a"], model="nope")
    assert e.value.code == grpc.StatusCode.NOT_FOUND
    with pytest.raises(err) as e:
        client.encode([], model="g")
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(err) as e:
        client.encode(["word " * 400], model="g")
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(err) as e:
        client.translate(["hi"], model="t", beam_size=10000)
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(err) as e:
        list(client.translate_stream(["hi"], model="g"))
    assert e.value.code == grpc.StatusCode.FAILED_PRECONDITION
    with pytest.raises(err) as e:
        client.translate(["word " * 100] * 16, model="t", beam_size=4, truncate=True,
                         timeout=0.001)
    assert e.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
    with pytest.raises(ValueError):
        client.encode(["a"], model="g", pooling="sum")


def test_rerank_matches_crossencoder_predict(client):
    cases = [c for c in golden_cases("cross-encoders/bert-ce-tiny")["cases"]
             if c["pair"] is not None and c["text"]]
    for c in cases:
        got = client.rerank(c["text"], [c["pair"]], model="ce", truncate=True)
        assert got[0].index == 0 and got[0].text is None
        assert got[0].score == pytest.approx(c["crossencoder"]["scores"][0], abs=1e-5)
        raw = client.rerank(c["text"], [c["pair"]], model="ce", truncate=True, raw_scores=True)
        assert raw[0].score == pytest.approx(c["crossencoder"]["logits"][0], abs=1e-5)
    # One call of many passages: sorted best first; top_n is the head; return_texts echoes.
    passages = [c["pair"] for c in cases]
    ranked = client.rerank("what is it?", passages, model="ce", truncate=True)
    assert sorted(r.index for r in ranked) == list(range(len(passages)))
    assert [r.score for r in ranked] == sorted((r.score for r in ranked), reverse=True)
    top = client.rerank("what is it?", passages, model="ce", truncate=True, top_n=2,
                        return_texts=True)
    assert [r.index for r in top] == [r.index for r in ranked[:2]]
    assert [r.text for r in top] == [passages[r.index] for r in ranked[:2]]


def test_classify_multilabel_matches_the_pipeline(client):
    fixture = golden_cases("cross-encoders/mpnet-multilabel-tiny")
    cases = fixture["cases"]
    got = client.classify([c["text"] for c in cases],
                          text_pairs=[c["pair"] or "" for c in cases], model="ml",
                          truncate=True)
    assert len(got) == len(cases)
    for g, c in zip(got, cases):
        want = c["pipeline"]
        assert [l.label for l in g.labels] == want["labels"]
        assert [l.score for l in g.labels] == pytest.approx(want["scores"], abs=1e-5)
        assert g.input_tokens == len(want["ids"])
    top = client.classify([cases[0]["text"]], model="ml", top_k=2, raw_scores=True,
                          truncate=True)[0]
    assert len(top.labels) == 2
    assert top.labels[0].label == fixture["labels"][top.labels[0].id]


def test_tokenize_pairs_give_type_ids(client):
    cases = golden_cases("cross-encoders/bert-ce-tiny")["cases"]
    got = client.tokenize([c["text"] for c in cases], model="ce", truncate=True,
                          text_pairs=[c["pair"] or "" for c in cases])
    for t, c in zip(got, cases):
        assert t.token_ids == c["pipeline"]["ids"]
        assert t.token_type_ids == c["pipeline"]["type_ids"]


def test_rerank_and_classify_errors(attnserve_client, client):
    import grpc
    err = attnserve_client.AttnserveError
    with pytest.raises(err) as e:
        client.rerank("q", ["t"], model="ml")
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT and "4 labels" in e.value.details
    with pytest.raises(err) as e:
        client.rerank("", ["t"], model="ce")
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT and "query" in e.value.details
    with pytest.raises(err) as e:
        client.classify(["a", "b"], text_pairs=["x"], model="ml")
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT and "text_pairs" in e.value.details
    with pytest.raises(err) as e:
        client.rerank("q", ["t"], model="nope")
    assert e.value.code == grpc.StatusCode.NOT_FOUND
