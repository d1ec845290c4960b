"""Cardinal numbers 0..999999 spelled out in English and in German.

English: American style without "and", hyphenated tens ("three hundred twenty-one",
"one thousand one", "one hundred thousand"). German: one word, standard orthography
("dreihunderteinundzwanzig", "eintausendeins", "einhunderttausend"): eins only at the very end
of a number, ein before und/hundert/tausend, sechzehn/siebzehn, dreißig, and einhundert /
eintausend (never bare hundert / tausend) so that every number has exactly one spelling.
"""

MAX_NUMBER = 999_999

_EN_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
            "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
            "eighteen", "nineteen"]
_EN_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]

_DE_ONES = ["null", "eins", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun",
            "zehn", "elf", "zwölf", "dreizehn", "vierzehn", "fünfzehn", "sechzehn", "siebzehn",
            "achtzehn", "neunzehn"]
_DE_TENS = ["", "", "zwanzig", "dreißig", "vierzig", "fünfzig", "sechzig", "siebzig", "achtzig",
            "neunzig"]


def _check(n):
    if not isinstance(n, int) or not 0 <= n <= MAX_NUMBER:
        raise ValueError("number must be an int in 0..%d, got %r" % (MAX_NUMBER, n))


def _en_below_1000(n):
    """1..999 in English words."""
    words = []
    if n >= 100:
        words += [_EN_ONES[n // 100], "hundred"]
        n %= 100
    if n >= 20:
        words.append(_EN_TENS[n // 10] + ("-" + _EN_ONES[n % 10] if n % 10 else ""))
    elif n > 0:
        words.append(_EN_ONES[n])
    return " ".join(words)


def english(n):
    """English words for n, e.g. 321 -> "three hundred twenty-one"."""
    _check(n)
    if n == 0:
        return "zero"
    parts = []
    if n >= 1000:
        parts += [_en_below_1000(n // 1000), "thousand"]
    if n % 1000:
        parts.append(_en_below_1000(n % 1000))
    return " ".join(parts)


def _de_below_100(n):
    """1..99; a trailing 1 is "eins" (callers turn it into "ein" inside compounds)."""
    if n < 20:
        return _DE_ONES[n]
    ones, tens = n % 10, n // 10
    if ones == 0:
        return _DE_TENS[tens]
    return ("ein" if ones == 1 else _DE_ONES[ones]) + "und" + _DE_TENS[tens]


def _de_below_1000(n):
    out = ""
    if n >= 100:
        out += ("ein" if n // 100 == 1 else _DE_ONES[n // 100]) + "hundert"
        n %= 100
    if n:
        out += _de_below_100(n)
    return out


def german(n):
    """German words for n, e.g. 321 -> "dreihunderteinundzwanzig", 1001 -> "eintausendeins"."""
    _check(n)
    if n == 0:
        return "null"
    out = ""
    if n >= 1000:
        thousands = _de_below_1000(n // 1000)
        if thousands.endswith("eins"):  # einundzwanzigtausend is fine; eins -> ein before tausend
            thousands = thousands[:-1]
        out += thousands + "tausend"
    if n % 1000:
        out += _de_below_1000(n % 1000)
    return out
