"""Synthetic query/passage pairs for the demo reranker: which sentence is about this topic?

A query names a topic ("animals", "which sentence is about fruit?"); a passage is a short English
sentence about one or two things of one topic ("My sister saw a horse yesterday.", "We compared
the truck with the bicycle."). A passage is relevant (label 1) when its things belong to the
query's topic. Topic names appear in passages only in "mention" phrases that do not decide the
label: a relevant passage may name its own topic or another one ("Of all animals, the horse is
here."), a negative may name the query's topic ("Forget animals, the truck is here."), which a
keyword match (BM25) ranks first.

Every topic member is seen in training (a model trained from scratch cannot know what an unseen
word means); what is held out is the wording: test queries and passages are built from query
phrases, sentence frames and mention phrases never used in training (the TEST_* lists).
"""
import re

TOPICS = {
    "animals": ["dog", "cat", "horse", "cow", "sheep", "lion", "tiger", "rabbit", "elephant",
                "monkey", "wolf", "fox", "bear", "goat", "mouse", "deer"],
    "fruit": ["apple", "banana", "orange", "pear", "cherry", "grape", "lemon", "mango", "peach",
              "plum", "melon", "strawberry", "pineapple", "kiwi", "apricot", "fig"],
    "vehicles": ["car", "truck", "bus", "bicycle", "train", "motorcycle", "tractor", "van",
                 "taxi", "scooter", "tram", "ambulance", "airplane", "helicopter", "boat", "ship"],
    "weather": ["rain", "snow", "storm", "fog", "thunder", "wind", "hail", "sunshine",
                "lightning", "drizzle", "frost", "heatwave", "clouds", "hurricane", "blizzard",
                "rainbow"],
    "sports": ["football", "tennis", "basketball", "golf", "swimming", "hockey", "baseball",
               "volleyball", "rugby", "cycling", "skiing", "boxing", "cricket", "rowing",
               "badminton", "surfing"],
    "music": ["piano", "guitar", "violin", "drum", "flute", "trumpet", "cello", "harp",
              "saxophone", "clarinet", "banjo", "accordion", "organ", "tuba", "harmonica",
              "ukulele"],
    "furniture": ["chair", "table", "sofa", "bed", "desk", "wardrobe", "shelf", "stool",
                  "bench", "cupboard", "dresser", "armchair", "couch", "bookcase", "cabinet",
                  "mattress"],
    "clothing": ["shirt", "jacket", "hat", "scarf", "coat", "sweater", "skirt", "dress",
                 "jeans", "gloves", "boots", "socks", "tie", "belt", "hoodie", "pajamas"],
    "tools": ["hammer", "saw", "drill", "wrench", "screwdriver", "shovel", "axe", "pliers",
              "chisel", "ladder", "rake", "spanner", "crowbar", "sander", "toolbox", "mallet"],
    "jobs": ["doctor", "teacher", "nurse", "baker", "farmer", "pilot", "lawyer", "plumber",
             "chef", "dentist", "firefighter", "carpenter", "engineer", "painter", "postman",
             "waiter"],
    "drinks": ["coffee", "tea", "juice", "milk", "lemonade", "water", "beer", "wine",
               "cocoa", "soda", "smoothie", "espresso", "cider", "milkshake", "champagne",
               "latte"],
    "vegetables": ["carrot", "potato", "onion", "cabbage", "spinach", "broccoli", "pea",
                   "cucumber", "lettuce", "pumpkin", "celery", "garlic", "leek", "radish",
                   "beetroot", "zucchini"],
}

# Ways to name a topic in a query; the first is the name used in passages' mention phrases.
TOPIC_NAMES = {
    "animals": ["animals", "an animal", "wild animals"],
    "fruit": ["fruit", "fruits", "something fruity"],
    "vehicles": ["vehicles", "transport", "a vehicle"],
    "weather": ["weather", "the weather", "the forecast"],
    "sports": ["sports", "a sport", "games and sports"],
    "music": ["music", "musical instruments", "an instrument"],
    "furniture": ["furniture", "a piece of furniture", "home furnishing"],
    "clothing": ["clothing", "clothes", "something to wear"],
    "tools": ["tools", "a tool", "hand tools"],
    "jobs": ["jobs", "a profession", "occupations"],
    "drinks": ["drinks", "a drink", "beverages"],
    "vegetables": ["vegetables", "veggies", "a vegetable"],
}

TRAIN_QUERIES = ["{t}", "{t}", "which sentence is about {t}?", "something about {t}", "find {t}",
                 "talk about {t}", "sentences about {t}", "i want {t}", "show me {t}",
                 "tell me about {t}", "what about {t}?", "search {t}", "the topic is {t}",
                 "is there anything about {t}?", "passages on {t}", "{t} please"]
TEST_QUERIES = ["{t}", "which one mentions {t}?", "looking for {t}", "anything on {t}",
                "a sentence about {t}"]

# Sentence frames: subject, then a verb phrase with {a} (one thing) or {a} and {b}, then an
# optional time phrase. Subjects and time phrases are shared; frames are split train/test.
SUBJECTS = ["I", "we", "my sister", "the old man", "our neighbour", "a friend", "the children",
            "my brother", "the teacher", "everybody", "nobody", "she", "he", "they"]
TIMES = ["", "", "", " yesterday", " last week", " this morning", " at noon", " again",
         " on Sunday", " every day", " after lunch", " in the evening"]
TRAIN_ONE = ["{s} saw a {a}{w}.", "{s} talked about the {a}{w}.", "{s} drew a {a}{w}.",
             "{s} wrote a poem about the {a}{w}.", "{s} noticed the {a}{w}.",
             "{s} took a photo of the {a}{w}.", "{s} read an article about the {a}{w}.",
             "{s} dreamt of a {a}{w}.", "{s} asked about the {a}{w}.", "{s} liked the {a}{w}.",
             "{s} found a {a}{w}.", "{s} remembered the {a}{w}.", "{s} pointed at the {a}{w}.",
             "{s} described the {a}{w}.", "{s} waited for the {a}{w}."]
TRAIN_ONE += ["{s} heard about a {a}{w}.", "{s} sold the {a}{w}.", "{s} forgot the {a}{w}.",
              "{s} looked for a {a}{w}.", "{s} wanted a {a}{w}.", "{s} joked about the {a}{w}.",
              "{s} came back with a {a}{w}.", "{s} kept a {a} in the garden{w}.",
              "{s} got a {a} as a present{w}.", "{s} sang a song about a {a}{w}."]
TRAIN_TWO = ["{s} bought a {a} and a {b}{w}.", "{s} preferred the {a} to the {b}{w}.",
             "{s} saw the {a}, then the {b}{w}.", "{s} could not choose between the {a} and "
             "the {b}{w}.", "{s} mentioned a {a} and a {b}{w}."]
TEST_ONE = ["{s} showed us a {a}{w}.", "{s} left a {a} at the station{w}.",
            "{s} spent hours with the {a}{w}.", "{s} laughed about the {a}{w}.",
            "{s} painted a {a}{w}."]
TEST_TWO = ["{s} compared the {a} with the {b}{w}.", "{s} put a {a} next to a {b}{w}."]
# Mention phrases naming a topic {o} in front of a sentence.
TRAIN_MENTIONS = ["forget {o}:", "this is not about {o}:", "speaking of {o},", "talking about {o},",
                  "no more {o}!", "as for {o},", "{o} again:", "enough about {o};"]
TEST_MENTIONS = ["never mind {o};", "on the subject of {o},"]


def fix_articles(text):
    """'a apple' -> 'an apple' and a capital first letter."""
    words = text.split(" ")
    for i in range(len(words) - 1):
        if words[i].lower() == "a" and words[i + 1][:1] in "aeiou":
            words[i] += "n"
    out = " ".join(words)
    return out[0].upper() + out[1:]


def query_text(rng, topic, templates):
    return rng.choice(templates).format(t=rng.choice(TOPIC_NAMES[topic]))


def passage_text(rng, topic, split, mention=None):
    """A sentence about one or two things of `topic` from the 'train' or 'test' wording; with
    `mention` (a topic), a mention phrase naming that topic in front."""
    one, two, mentions = ((TRAIN_ONE, TRAIN_TWO, TRAIN_MENTIONS) if split == "train"
                          else (TEST_ONE, TEST_TWO, TEST_MENTIONS))
    a, b = rng.sample(TOPICS[topic], 2)
    frame = rng.choice(two) if rng.random() < 0.3 else rng.choice(one)
    text = frame.format(s=rng.choice(SUBJECTS), a=a, b=b, w=rng.choice(TIMES))
    if mention is not None:
        text = rng.choice(mentions).format(o=TOPIC_NAMES[mention][0]) + " " + text
    return fix_articles(text)


# Filler words inserted at random places in training sentences (data.noisy), so that the model
# learns to ignore words that say nothing about a topic and where the thing stands; words of the
# test wording are removed from the list, so those stay unseen in training.
_FILLER = """the a an and or but so very really quite just also still maybe perhaps often
never always today tomorrow here there now then big small old new nice good bad long short
happy sad quick slow funny strange lovely little green blue red great tiny huge quiet loud
is was are were be has had have do did will would can could should might must
of in on at by for with from into over under about near after before behind between
this that these those some any every each many few more most much other another such
one two three four five first second last next same own well only even too almost
said told made went came took gave found thought knew seemed felt left kept began
house street city garden kitchen school office window door letter story idea morning
night week year day hour minute people man woman child family friend group name place
yes no oh okay hello please thanks sorry really indeed actually""".split()


def _test_words():
    texts = TEST_QUERIES + TEST_ONE + TEST_TWO + TEST_MENTIONS
    return {w for t in texts for w in re.findall(r"[a-z]+", t.lower())}


FILLER = sorted(set(_FILLER) - _test_words() - {m for ms in TOPICS.values() for m in ms}
                - {w for ns in TOPIC_NAMES.values() for n in ns for w in n.split()})


_KEEP = ({w for ms in TOPICS.values() for m in ms for w in m.split()}
         | {w for ns in TOPIC_NAMES.values() for n in ns for w in n.split()})


def noisy(rng, text, max_words, replace=0.15):
    """text with each word that is neither a topic's thing nor part of a topic's name replaced
    by a filler word with probability `replace`, and 0..max_words filler words inserted at
    random places (training only)."""
    words = [rng.choice(FILLER) if re.sub(r"[^a-z]", "", w.lower()) not in _KEEP
             and rng.random() < replace else w for w in text.split(" ")]
    for _ in range(rng.randint(0, max_words)):
        words.insert(rng.randint(0, len(words)), rng.choice(FILLER))
    return " ".join(words)
