"""Multilingual text for the tokenizer and encoder references (standard library only).

SENTENCES is the built-in training corpus of tiny_tokenizers.py (the tiny vocabularies are
learned from it, so that most scripts tokenize into real pieces while rare characters still
hit the unknown token). TEXTS are the test texts: every case that tokenizers are known to
disagree on (scripts, emoji, control and zero-width characters, Unicode spaces, special-token
literals, very long words, over-long texts, empty input). PAIRS are second texts for
sentence-pair cases.
"""
import random

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Sentence embeddings map a text to a vector; similar texts get similar vectors.",
    "A server loads the model once and answers many requests in batches.",
    "Hugging Face Transformers is the reference implementation for these models.",
    "Café, naïve, résumé, façade, coöperate and São Paulo are spelled with accents.",
    "Der Straßenbahnfahrer grüßt die Fußgänger an der Haltestelle in Zürich.",
    "Größere Modelle brauchen mehr Speicher, aber nicht immer mehr Zeit.",
    "İstanbul'da ılık bir akşam; ışıklar yanıyor ve şehir çok güzel.",
    "Le serveur répond à chaque requête en quelques millisecondes, même à Noël.",
    "El niño comió una manzana en la mañana y después jugó al fútbol.",
    "Καλημέρα, ο γρήγορος καφέ σκύλος πηδάει πάνω από τον τεμπέλη.",
    "Привет, мир! Быстрая коричневая лиса прыгает через ленивую собаку.",
    "Съешь же ещё этих мягких французских булок да выпей чаю.",
    "مرحبا بالعالم، هذا نص عربي قصير للاختبار.",
    "שלום עולם, זהו טקסט עברי קצר לבדיקה.",
    "नमस्ते दुनिया, यह परीक्षण के लिए एक छोटा हिंदी वाक्य है।",
    "สวัสดีชาวโลก นี่คือประโยคภาษาไทยสั้นๆ สำหรับการทดสอบ",
    "我们的服务器每秒处理很多请求，模型在内存中只加载一次。",
    "東京は日本の首都です。今日はいい天気ですね。",
    "ひらがなとカタカナとかんじをまぜたぶんしょうです。テスト、テスト。",
    "안녕하세요 세계, 이것은 시험을 위한 짧은 한국어 문장입니다.",
    "Numbers like 3.14159, 2024-06-11, 1,000,000 and 42% appear in text.",
    "Visit https://example.com/path?query=1&lang=en or mail user@example.org.",
    "Emoji 🙂😀👍🏽 and flags 🇩🇪🇯🇵 show up in chats ❤️.",
    "Tiếng Việt có nhiều dấu: người, được, những, thế giới.",
    "Polski: zażółć gęślą jaźń; Čeština: příliš žluťoučký kůň.",
    "Español, Português, Français, Italiano, Deutsch, Nederlands, Svenska.",
    "Models: BERT, RoBERTa, XLM-R, DistilBERT, MPNet, MiniLM, E5, BGE.",
    "state-of-the-art, don't, e.g., i.e., U.S.A., (yes) [no] {maybe}",
    "Machine learning models read tokens, not characters or words.",
]

# Every entry is a deliberate case; the comment says which.
TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "Café naïve résumé ÉCOLE Ångström",  # precomposed accents, upper case
    "Cafe\u0301 nai\u0308ve e\u0300 o\u0302\u0323",  # combining marks (NFD input)
    "Straße STRASSE straße ẞ",  # German sharp s and capital sharp s
    "İstanbul ıIiİ DİYARBAKIR ılık",  # Turkish dotted / dotless i
    "Καλημέρα ΚΑΛΗΜΈΡΑ σίγμα ς",  # Greek, final sigma
    "Привет, МИР! ёЁ",  # Cyrillic
    "مرحبا بالعالم، ١٢٣",  # Arabic, Arabic-Indic digits
    "שלום עולם",  # Hebrew
    "नमस्ते दुनिया क्षत्रिय",  # Devanagari with conjuncts
    "สวัสดีชาวโลก",  # Thai (no spaces)
    "我们的服务器每秒处理很多请求。",  # Chinese
    "ひらがな カタカナ ｶﾀｶﾅ 東京",  # Japanese kana, half-width katakana
    "안녕하세요 세계 한국어",  # Korean hangul
    "ＡＢＣ ｆｕｌｌ－ｗｉｄｔｈ １２３ ﬁne ﬀ ①",  # compatibility forms (NFKC)
    "emoji 🙂😀 👍🏽 👩‍👩‍👧‍👦 🏳️‍🌈 ❤️ 🇩🇪",  # skin tone, ZWJ sequences, VS16, flags
    "wordwith🙂emoji",  # emoji glued to a word
    "tab\there\nnewline\r\ncrlf",  # whitespace controls
    "nul\x00bell\x07del\x7fend",  # other control characters
    "zero\u200bwidth\u200djoiner\u200cnonjoiner",  # ZWSP, ZWJ, ZWNJ
    "\ufeffbom at start",  # byte order mark
    "nbsp\u00a0thin\u2009ideographic\u3000em\u2003end",  # Unicode spaces
    "soft\u00adhyphen and \ufffd replacement",
    "<mask> is </s> and [SEP] or <pad> <s> <unk> [CLS] [MASK]",  # special-token literals
    "a<mask>b  <mask>  x</s>y",  # literals glued to text and with spaces around
    "!!!???...,,,;;;::: ---___*** $$$%%% ((([[[{{{",  # punctuation runs
    "0123456789 3.14159 1,000,000 2024-06-11 1e-5 0x1F",  # digit runs
    "https://example.com/a/b?q=1&lang=en#frag user@example.org www.test.de",
    "a" * 230,  # very long word (230 chars, over WordPiece's 100)
    "Donaudampfschifffahrtsgesellschaftskapitänswitwe" * 5,  # long word with pieces
    "",  # empty
    "   ",  # whitespace only
    "\t\n \u3000",  # exotic whitespace only
    " leading and trailing spaces ",
    "multiple    internal     spaces",
]
PAIRS = [
    "A second sentence for the pair.",
    "Zweiter Satz: Straße.",
    "第二个句子。",
    "",
    "<mask> </s>",
]


def long_text(seed=7, words=320):
    """An over-long text (300+ words) from SENTENCES' words, deterministic."""
    rng = random.Random(seed)
    pool = [w for s in SENTENCES for w in s.split()]
    return " ".join(rng.choice(pool) for _ in range(words))


def corpus(seed, lines=600):
    """Training corpus: SENTENCES plus seeded recombinations of their words."""
    rng = random.Random(seed)
    pool = [w for s in SENTENCES for w in s.split()]
    out = list(SENTENCES) * 3
    for _ in range(lines):
        out.append(" ".join(rng.choice(pool) for _ in range(rng.randint(3, 16))))
    rng.shuffle(out)
    return out


def all_texts():
    return TEXTS + [long_text()]
