"""Synthetic query/passage pairs for the demo reranker: which sentence mentions this number?

Queries name one number 0..MAX_NUMBER in digits or in English words ("73", "how much is
seventy-three"); passages are short English sentences mentioning one or two numbers, each in
digits or words ("We counted seventy-three birds in the park.", "The shop sold 37 cups and 730
plates."). A passage is relevant (label 1) when one of its numbers is exactly the query's number.
Negatives are mostly hard: numbers that share digits or words with the query's number (37 vs 73,
730 vs 73, 17 vs 70, 1234 vs 1034 or 234, ...).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "demo_translator"))
import number_words  # noqa: E402  (shared with the demo translator)

MAX_NUMBER = 9999

QUERY_TEMPLATES = [
    "{n}", "{n}", "how much is {n}", "the number {n}", "which sentence mentions {n}?",
    "find {n}", "where does it say {n}", "something about {n}", "what has {n}?",
]

ONE_NUMBER = [
    "The box holds {n} apples.", "We counted {n} birds in the park.",
    "Page {n} of the report is missing.", "The train leaves in {n} minutes.",
    "She paid {n} dollars for the tickets.", "The library owns {n} books about history.",
    "Room {n} is on the top floor.", "There were {n} people at the concert.",
    "The bridge is {n} meters long.", "He ran {n} kilometers last year.",
    "The village has {n} inhabitants.", "Our team scored {n} points.",
    "The recipe needs {n} grams of flour.", "Flight {n} was delayed by an hour.",
    "The farm keeps {n} sheep.", "I have read {n} pages so far.",
    "The ship carried {n} containers.", "About {n} students passed the exam.",
    "The answer is {n}.", "Order number {n} has shipped.", "{n} cars were parked outside.",
    "The museum shows {n} paintings.", "It costs {n} euros.", "The song has {n} views.",
]

TWO_NUMBERS = [
    "The shop sold {n} cups and {m} plates.", "{n} of the {m} seats were taken.",
    "Between {n} and {m} visitors come every day.", "Bus {n} stops at house number {m}.",
    "The old price was {n}, the new one is {m}.",
]


def render(n, fmt):
    return str(n) if fmt == "digits" else number_words.english(n)


def sentence(template, **numbers):
    text = template.format(**numbers)
    return text[0].upper() + text[1:]


def query_text(rng, n, fmt):
    return rng.choice(QUERY_TEMPLATES).format(n=render(n, fmt))


def passage_text(rng, numbers, fmts):
    """A sentence mentioning `numbers` (one or two) rendered in `fmts`."""
    rendered = [render(x, f) for x, f in zip(numbers, fmts)]
    if len(numbers) == 1:
        return sentence(rng.choice(ONE_NUMBER), n=rendered[0])
    return sentence(rng.choice(TWO_NUMBERS), n=rendered[0], m=rendered[1])


def _teen_ty(t):
    """17 <-> 70, 14 <-> 40, ...: the pairs whose English words differ only by -teen/-ty."""
    if 13 <= t <= 19:
        return [(t - 10) * 10]
    if t % 10 == 0 and 30 <= t <= 90:
        return [t // 10 + 10]
    return []


def hard_negatives(n, max_number=MAX_NUMBER):
    """Numbers easy to confuse with n, in digits or in words; never n itself."""
    s = str(n)
    out = set()
    for i in range(len(s)):
        for j in range(i + 1, len(s)):  # swapped digits: 73 -> 37
            t = list(s)
            t[i], t[j] = t[j], t[i]
            out.add("".join(t))
        out.add(s[:i] + s[i + 1:])  # dropped digit: 1234 -> 134
        for d in "0123456789":
            out.add(s[:i] + d + s[i + 1:])  # changed digit: 1234 -> 1294
            out.add(s[:i] + d + s[i:])  # inserted digit: 73 -> 703
    out.add(s + "0")
    cands = {int(x) for x in out if x and (x == "0" or not x.startswith("0"))}
    cands |= {n * 10, n // 10, n + 1, n - 1, n + 10, n - 10, n + 100, n - 100}
    place = 1  # a component left out: 1234 -> 234, 1034, 1204, 1230 (words are a subset)
    while place <= n:
        cands.add(n - (n // place % 10) * place)
        place *= 10
    for t in _teen_ty(n % 100):  # 317 -> 370, 1070 -> 1017
        cands.add(n - n % 100 + t)
    return sorted(x for x in cands if 0 <= x <= max_number and x != n)
