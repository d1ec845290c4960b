"""Test sentences for the real all-MiniLM-L6-v2 references (tests/data/minilm).

Hand-written groups cover what a BERT WordPiece pipeline can get wrong (punctuation, numbers,
accents, CJK, emoji, whitespace and control characters, special-token literals, long words,
truncation at 256 tokens); a seeded generator adds sentence variations. texts() returns the
same list on every call and every machine.
"""
import random

ENGLISH = [
    "The quick brown fox jumps over the lazy dog.",
    "A man is playing a guitar on the street corner.",
    "A woman is slicing tomatoes in the kitchen.",
    "Two dogs are running through a field of tall grass.",
    "The cat sat quietly on the windowsill, watching the rain.",
    "Children are building a sandcastle at the beach.",
    "The stock market fell sharply after the announcement.",
    "Central banks raised interest rates for the third time this year.",
    "How do I reset my password?",
    "What is the capital of Australia?",
    "Where can I find a good pizza near the train station?",
    "Please close the door when you leave.",
    "Turn left at the second traffic light, then go straight for two blocks.",
    "I absolutely loved this movie; the acting was superb.",
    "This product broke after two days. Terrible quality.",
    "The service was okay, nothing special.",
    "Photosynthesis converts light energy into chemical energy stored in glucose.",
    "Mitochondria are the powerhouse of the cell.",
    "The theory of general relativity describes gravity as the curvature of spacetime.",
    "Water boils at one hundred degrees Celsius at sea level.",
    "Machine learning models can overfit when trained on small datasets.",
    "Transformers use self-attention to relate every token to every other token.",
    "The server returned an internal error while processing the request.",
    "Restart the service and check the logs for warnings.",
    "Our quarterly revenue grew by a modest margin compared to last year.",
    "The meeting has been moved to Thursday afternoon.",
    "Don't forget to bring your umbrella tomorrow!",
    "She said, \"I'll be there by noon,\" but she never arrived.",
    "It's a truth universally acknowledged that a single man in possession of a good fortune must be in want of a wife.",
    "To be, or not to be, that is the question.",
    "All happy families are alike; each unhappy family is unhappy in its own way.",
    "In the beginning God created the heaven and the earth.",
    "The patient was prescribed antibiotics for a bacterial infection.",
    "Symptoms include fever, cough, and shortness of breath.",
    "The court ruled that the contract was void.",
    "The defendant pleaded not guilty to all charges.",
    "The recipe calls for flour, sugar, eggs and butter.",
    "Preheat the oven before you put the bread in.",
    "The team scored in the final minute to win the championship.",
    "He ran the marathon in just under three hours.",
    "A sentence embedding maps text to a vector.",
    "Semantic search finds documents with similar meaning.",
    "The weather is lovely today.",
    "It is raining cats and dogs.",
    "I am hungry.",
    "Hello!",
    "yes",
    "no",
    "ok",
    "a",
    "the",
    "Thanks a lot for your help, I really appreciate it.",
    "Can you recommend a book about the history of mathematics?",
    "The unbelievably unrecognizable reorganization was counterproductive.",
    "antidisestablishmentarianism",
    "pneumonoultramicroscopicsilicovolcanoconiosis",
    "Supercalifragilisticexpialidocious!",
    "The lighthouse keeper lit the lamp every evening at dusk.",
    "Birds migrate south for the winter.",
    "The train to Boston departs from platform nine.",
]

CASE_AND_NAMES = [
    "HELLO WORLD, THIS IS A TEST IN CAPITAL LETTERS.",
    "hello world, this is a test in lowercase letters.",
    "HeLLo WoRLd, tHiS iS mIxEd CaSe.",
    "iPhone, eBay, McDonald's and YouTube are brand names.",
    "NASA and the ESA launched a joint mission.",
    "Dr. Smith met Mr. O'Neil at 5 p.m. in Washington, D.C.",
    "The U.S.A. and the U.K. signed the agreement.",
    "OpenAI, DeepMind, and Hugging Face publish research papers.",
]

PUNCTUATION = [
    "Hello, world!!!",
    "Wait... what?!",
    "Well -- that was unexpected.",
    "Use the em—dash and the en–dash correctly.",
    "(parentheses) [brackets] {braces} <angle brackets>",
    "\"Double quotes\" and 'single quotes' and `backticks`.",
    "“Curly quotes” and ‘curly single quotes’ and «guillemets».",
    "Semicolons; colons: commas, periods.",
    "email: john.doe@example.com",
    "Visit https://www.example.org/path/to/page?query=1&lang=en#section for details.",
    "C:\\Program Files\\App\\bin\\app.exe",
    "/usr/local/bin/python3 -m pip install --upgrade pip",
    "def f(x): return x ** 2 + 3 * x - 1",
    "if (a != b && c >= d) { return a; }",
    "SELECT name, age FROM users WHERE age > 30 ORDER BY name;",
    "#hashtag @mention $dollar %percent ^caret &ampersand *star",
    "~tilde |pipe \\backslash /slash +plus =equals _underscore",
    "!!!???...,,,;;;:::",
    "...",
    "?",
    "-",
    "§ 12 Abs. 3 ¶ 4 † ‡ • · … ‰ ′ ″",
    "¿Dónde está la biblioteca? ¡Vamos!",
    "a-b-c-d-e-f-g",
    "state-of-the-art, well-known, up-to-date",
    "rock'n'roll, don't, won't, y'all, 'tis",
    "**bold** _italic_ ~~strike~~ `code` [link](http://x.y)",
    "<html><body><p>Hello</p></body></html>",
    "{\"key\": \"value\", \"list\": [1, 2, 3]}",
]

NUMBERS = [
    "3.14159265358979323846",
    "1,000,000",
    "1.000.000,50 €",
    "$12.50 and £7.99 and ¥500 and ₹250",
    "50% off, 3/4 cup, 1½ teaspoons, 2³ = 8",
    "2024-06-11T13:45:00Z",
    "The meeting is at 10:30 on 11/06/2024.",
    "Call +1 (555) 123-4567 or 555.987.6543.",
    "Version 4.57.6 fixes bug #12345.",
    "The temperature dropped to -17.5°C overnight.",
    "In 1969, Apollo 11 landed on the Moon.",
    "0",
    "42",
    "007",
    "1234567890",
    "12345678901234567890123456789012345678901234567890",
    "0x1F600 0b1010 1e-12 6.022e23",
    "Room 101, floor 3, building B-12.",
    "The ratio was 3:2 and the score 21-17.",
    "I, II, III, IV, V, Ⅻ",
    "٠١٢٣٤٥٦٧٨٩ and ０１２３ full-width digits",
]

ACCENTS = [
    "café, naïve, résumé, fiancé, coöperate",
    "Crème brûlée is a French dessert.",
    "Zürich, München, Köln and Düsseldorf are German-speaking cities.",
    "Die Straße ist sehr groß und schön.",
    "São Paulo, Bogotá, Córdoba, Asunción",
    "Ångström, Øresund, Æsir, Þórr",
    "Kraków, Łódź, Gdańsk, Wrocław",
    "Příliš žluťoučký kůň úpěl ďábelské ódy.",
    "İstanbul, Iğdır, şehir, çiçek",
    "Tiếng Việt có dấu: Hà Nội, Sài Gòn.",
    "Ça va? Où est le café? À bientôt!",
    "e\u0301 (e + combining acute) vs \u00e9 (precomposed)",
    "ﬁ ﬂ ligatures and Ⅸ roman numeral and ™ ® ©",
    "ÀÉÎÕÜ ÇÑ àéîõü çñ",
]

SCRIPTS = [
    "Καλημέρα, πώς είσαι;",
    "Привет, как дела? Всё хорошо.",
    "Москва — столица России.",
    "مرحبا بالعالم",
    "שלום עולם",
    "नमस्ते दुनिया",
    "สวัสดีชาวโลก",
    "안녕하세요 세계",
    "こんにちは世界",
    "東京は日本の首都です。",
    "我爱自然语言处理。",
    "北京欢迎你",
    "中文和English混合的句子。",
    "日本語のテキストとカタカナ、ひらがな。",
    "漢字、かな、カナ、ａｂｃ（全角）",
    "𠀀𠀁 rare CJK extension B characters",
    "ሰላም ዓለም",
    "ᚠᚢᚦᚨᚱᚲ runes",
]

EMOJI = [
    "I love pizza 🍕",
    "🍕",
    "😀😃😄😁",
    "Great job!👍",
    "family: 👨‍👩‍👧‍👦",
    "flags: 🇩🇪 🇺🇸 🇯🇵",
    "thumbs up with skin tone: 👍🏽",
    "heart ❤️ and star ⭐ and snowman ☃",
    "hello🙂world",
    "Let's go 🚀🚀🚀 to the moon 🌕!",
    "♠♣♥♦ ♔♕♖ ⚽⚾",
    "→ ← ↑ ↓ ⇒ ∀x ∃y: x ≤ y ∧ y ≠ 0",
]

WHITESPACE = [
    "",
    " ",
    "   ",
    "\t",
    "\n",
    "\r\n",
    "  leading and trailing spaces  ",
    "multiple    spaces     between   words",
    "tabs\tbetween\twords",
    "line one\nline two\nline three",
    "windows\r\nline\r\nendings",
    "non\u00a0breaking\u00a0spaces",
    "zero\u200bwidth\u200bspace",
    "soft\u00adhyphen",
    "ideographic\u3000space",
    "en\u2002space em\u2003space thin\u2009space",
    "word\u200djoiner\u2060here",
    "bidi \u202emarks\u202c and \u200fRLM",
    "null\u0000char",
    "bell\u0007and\u001bescape",
    "replacement \ufffd char",
    "BOM\ufeffin the middle",
    "\u00a0\u00a0",
    "\u200b",
    " \t\n mixed \r\n\t whitespace \u3000",
]

SPECIAL_LITERALS = [
    "[CLS]",
    "[SEP] in the middle [SEP]",
    "This is [MASK] sentence.",
    "[PAD] [UNK] [CLS] [SEP] [MASK]",
    "[unused0] [unused1]",
    "<s> </s> <pad> <unk>",
    "[cls] lower-case literal",
    "##ing ##s ## #",
]

LONG_WORDS = [
    "a" * 100,
    "b" * 101,
    "x" * 150 + " short words after",
    "abc☃def",
    "https://example.com/" + "segment/" * 30,
]

_PARAGRAPH = (
    "The history of natural language processing generally started in the 1950s, although "
    "work can be found from earlier periods. In 1950, Alan Turing published an article titled "
    "\"Computing Machinery and Intelligence\" which proposed what is now called the Turing test "
    "as a criterion of intelligence. The Georgetown experiment in 1954 involved fully automatic "
    "translation of more than sixty Russian sentences into English. ")


def _long_texts():
    """Texts longer than 256 WordPiece tokens (cut by max_seq_length) and some just around it."""
    return [
        _PARAGRAPH * 5,
        " ".join(["word"] * 254),  # 254 + [CLS] + [SEP] = 256: fits exactly
        " ".join(["word"] * 255),  # one too many: truncated
        " ".join(["word"] * 400),
        " ".join(str(i) for i in range(300)),
        "東京大学" * 80,
        "😀 " * 300,
        ", ".join(["comma"] * 200),
        "A" + "-" * 600,
        ("Zürich café naïve " * 90).strip(),
    ]


_SUBJECTS = ["The engineer", "My neighbour", "A small child", "The old professor", "Our team",
             "The robot", "A tourist", "The committee"]
_VERBS = ["reads", "fixes", "paints", "sells", "describes", "ignores", "translates", "measures"]
_OBJECTS = ["a long report", "the broken bicycle", "three red apples", "an ancient map",
            "the network cable", "a German poem", "the blue house", "twenty-seven boxes"]
_TAILS = ["", " every morning", " in 2019", " for $35.99", " (again)", " — surprisingly fast",
          " with great care!", " at 7:45 a.m.", " near Köln", " 🙂"]


def _generated(count, seed=20240611):
    rng = random.Random(seed)
    out = []
    while len(out) < count:
        s = "%s %s %s%s." % (rng.choice(_SUBJECTS), rng.choice(_VERBS), rng.choice(_OBJECTS),
                             rng.choice(_TAILS))
        if rng.random() < 0.2:
            s = s.upper()
        elif rng.random() < 0.2:
            s = s.lower()
        if s not in out:
            out.append(s)
    return out


def texts():
    """All reference texts, each with its group name: list of (group, text)."""
    groups = [("english", ENGLISH), ("case", CASE_AND_NAMES), ("punctuation", PUNCTUATION),
              ("numbers", NUMBERS), ("accents", ACCENTS), ("scripts", SCRIPTS), ("emoji", EMOJI),
              ("whitespace", WHITESPACE), ("special_literals", SPECIAL_LITERALS),
              ("long_words", LONG_WORDS), ("long", _long_texts()), ("generated", _generated(100))]
    return [(name, t) for name, items in groups for t in items]
