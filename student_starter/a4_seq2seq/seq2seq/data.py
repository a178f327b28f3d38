"""Data for assignment 4: tokenizer, corpora, batching (given); the Vocabulary's encode/decode (yours).

Two German->English corpora:

- ``load_embedded()`` (the default, offline): sentence pairs the kit generates from a
  small grammar with gender and case agreement (der/den/dem, ein/einen, adjective
  endings), verb-second order after a fronted adverb, and verb-final order in
  subordinate clauses and the perfect tense. Word order differs between the two
  languages, so a model has to learn *where* to look, which is what attention is for.
- ``load_multi30k(root)``: the Multi30k task-1 corpus (29,000 training pairs) from
  its raw files ``train.de``/``train.en``, ``val.*``, ``test_2016_flickr.*`` (plain
  or ``.gz``), checked against the sha256 sums in ``MULTI30K`` (a copy of the kit's
  ``datasets/manifest.toml`` entries).

Token ids: 0 ``<pad>``, 1 ``<unk>``, 2 ``<sos>``, 3 ``<eos>`` in every vocabulary, so
``<sos>`` has the same id in the source and the target vocabulary.
"""
import collections
import gzip
import hashlib
import os
import random
import re
import shutil
import tarfile
import urllib.request

import torch

PAD, UNK, SOS, EOS = "<pad>", "<unk>", "<sos>", "<eos>"
SPECIALS = (PAD, UNK, SOS, EOS)
PAD_IDX, UNK_IDX, SOS_IDX, EOS_IDX = 0, 1, 2, 3


class DatasetNotFound(FileNotFoundError):
    """The dataset is not on disk and downloading was not allowed."""


class ChecksumError(ValueError):
    """A dataset file does not have the recorded sha256."""


# ---------------------------------------------------------------- tokenizer
_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def tokenize(text):
    """Lower-case ``text`` and split it into words and punctuation marks.

    >>> tokenize("Zwei Männer stehen, am Herd.")
    ['zwei', 'männer', 'stehen', ',', 'am', 'herd', '.']
    """
    return _TOKEN.findall(text.lower())


# ---------------------------------------------------------------- vocabulary
class Vocabulary:
    """A mapping between tokens and integer ids.

    Built from tokenised sentences: the four specials come first (ids 0-3, see the
    module docstring), then every token seen at least ``min_freq`` times, most
    frequent first (ties in alphabetical order). Any other token is unknown and maps
    to ``<unk>``.

    Attributes:
        itos: list of tokens; ``itos[i]`` is the token with id i.
        stoi: dict token -> id (the inverse of ``itos``).
    """

    def __init__(self, sentences, min_freq=1):
        counts = collections.Counter(tok for sent in sentences for tok in sent)
        for special in SPECIALS:
            counts.pop(special, None)
        kept = sorted((t for t, c in counts.items() if c >= min_freq), key=lambda t: (-counts[t], t))
        self.itos = list(SPECIALS) + kept
        self.stoi = {t: i for i, t in enumerate(self.itos)}
        self.min_freq = min_freq

    def __len__(self):
        return len(self.itos)

    def encode(self, tokens, add_sos_eos=True):
        """Token ids of a tokenised sentence.

        Args:
            tokens:      list of L strings.
            add_sos_eos: put ``<sos>`` before and ``<eos>`` after the sentence.

        Returns:
            list of L ints (L + 2 with ``add_sos_eos``). A token not in the vocabulary
            becomes ``UNK_IDX``.

        Example: with itos = [<pad>, <unk>, <sos>, <eos>, "the", "dog"],
        encode(["the", "cat"]) == [2, 4, 1, 3].
        """
        raise NotImplementedError("seq2seq.data.Vocabulary.encode")

    def decode(self, ids):
        """Tokens of a sequence of ids, as a model's output is read.

        Reading stops at the first ``<eos>`` (which is not returned); ``<sos>`` and
        ``<pad>`` are skipped; an id outside the vocabulary (``id >= len(self)``, read
        before any ``<eos>``) raises IndexError.

        Args:
            ids: sequence of ints (a list, or a 1-d tensor / array).

        Returns:
            list of strings. Example: decode([2, 4, 1, 3, 5, 0]) == ["the", "<unk>"].
        """
        raise NotImplementedError("seq2seq.data.Vocabulary.decode")


def pad_batch(sequences, pad_idx=PAD_IDX):
    """Stack id lists of different lengths into one (N, T) int64 tensor, T = longest.

    Shorter sequences are filled with ``pad_idx`` on the right.
    """
    longest = max(len(s) for s in sequences)
    out = torch.full((len(sequences), longest), pad_idx, dtype=torch.long)
    for i, s in enumerate(sequences):
        out[i, :len(s)] = torch.as_tensor(list(s), dtype=torch.long)
    return out


# ---------------------------------------------------------------- the embedded corpus
# nouns: German singular, gender, German plural, English singular, English plural
_NOUNS = [
    ("hund", "m", "hunde", "dog", "dogs"), ("mann", "m", "männer", "man", "men"),
    ("vogel", "m", "vögel", "bird", "birds"), ("lehrer", "m", "lehrer", "teacher", "teachers"),
    ("ball", "m", "bälle", "ball", "balls"), ("apfel", "m", "äpfel", "apple", "apples"),
    ("tisch", "m", "tische", "table", "tables"), ("koch", "m", "köche", "cook", "cooks"),
    ("katze", "f", "katzen", "cat", "cats"), ("frau", "f", "frauen", "woman", "women"),
    ("blume", "f", "blumen", "flower", "flowers"), ("tür", "f", "türen", "door", "doors"),
    ("zeitung", "f", "zeitungen", "newspaper", "newspapers"), ("schwester", "f", "schwestern", "sister", "sisters"),
    ("pferd", "n", "pferde", "horse", "horses"), ("kind", "n", "kinder", "child", "children"),
    ("mädchen", "n", "mädchen", "girl", "girls"), ("buch", "n", "bücher", "book", "books"),
    ("auto", "n", "autos", "car", "cars"), ("haus", "n", "häuser", "house", "houses"),
]
_ANIMATE = {"hund", "mann", "vogel", "lehrer", "koch", "katze", "frau", "schwester", "pferd", "kind", "mädchen"}
_ADJECTIVES = [("groß", "big"), ("klein", "small"), ("alt", "old"), ("jung", "young"), ("rot", "red"),
               ("schnell", "fast"), ("müde", "tired"), ("neu", "new")]
# verbs: German 3sg, German plural, German participle, English 3sg, English plural, English participle
_VERBS = [
    ("sieht", "sehen", "gesehen", "sees", "see", "seen"), ("findet", "finden", "gefunden", "finds", "find", "found"),
    ("kennt", "kennen", "gekannt", "knows", "know", "known"), ("mag", "mögen", "gemocht", "likes", "like", "liked"),
    ("hört", "hören", "gehört", "hears", "hear", "heard"), ("ruft", "rufen", "gerufen", "calls", "call", "called"),
    ("trägt", "tragen", "getragen", "carries", "carry", "carried"), ("malt", "malen", "gemalt", "paints", "paint",
                                                                      "painted"),
]
_ADVERBS = [("heute", "today"), ("gestern", "yesterday"), ("jetzt", "now"), ("oft", "often"), ("dort", "there")]
_MATRIX = [(["ich", "glaube", "dass"], ["i", "think", "that"]), (["sie", "sagt", "dass"], ["she", "says", "that"]),
           (["wir", "wissen", "dass"], ["we", "know", "that"])]
_DEF = {"nom": {"m": "der", "f": "die", "n": "das", "pl": "die"},
        "acc": {"m": "den", "f": "die", "n": "das", "pl": "die"},
        "dat": {"m": "dem", "f": "der", "n": "dem", "pl": "den"}}
_INDEF = {"nom": {"m": "ein", "f": "eine", "n": "ein"},
          "acc": {"m": "einen", "f": "eine", "n": "ein"},
          "dat": {"m": "einem", "f": "einer", "n": "einem"}}


def _adjective(stem, case, gender, definite):
    """German adjective ending after an article: weak after der/die/das, mixed after ein."""
    if gender == "pl" or case == "dat":
        return stem + "en"
    if definite:
        return stem + ("en" if (case == "acc" and gender == "m") else "e")
    if case == "acc" and gender == "m":
        return stem + "en"
    return stem + {"m": "er", "f": "e", "n": "es"}[gender]


def _noun_phrase(rng, case, animate_only=False, allow_plural=True):
    """(German tokens, English tokens, is_plural) for a random noun phrase in ``case``."""
    nouns = [n for n in _NOUNS if not animate_only or n[0] in _ANIMATE]
    de_sg, gender, de_pl, en_sg, en_pl = rng.choice(nouns)
    plural = allow_plural and rng.random() < 0.25
    definite = plural or rng.random() < 0.7
    g = "pl" if plural else gender
    de, en = [], []
    if definite:
        de.append(_DEF[case][g])
        en.append("the")
    else:
        de.append(_INDEF[case][gender])
        en.append("a")
    if rng.random() < 0.35:
        stem, en_adj = rng.choice(_ADJECTIVES)
        de.append(_adjective(stem[:-1] if stem.endswith("e") else stem, case, g, definite))
        en.append(en_adj)
    noun = de_pl if plural else de_sg
    if case == "dat" and plural and not noun.endswith(("n", "s")):
        noun += "n"  # dative plural: den Hunden, den Kindern
    de.append(noun)
    en.append(en_pl if plural else en_sg)
    if en[0] == "a" and en[1][0] in "aeiou":
        en[0] = "an"                                  # an old dog, an apple
    return de, en, plural


def _sentence(rng):
    """One (German tokens, English tokens) pair from the grammar."""
    subj_de, subj_en, plural = _noun_phrase(rng, "nom", animate_only=True)
    obj_de, obj_en, _ = _noun_phrase(rng, "acc")
    v3, vpl, vpart, e3, epl, epart = rng.choice(_VERBS)
    perfect = rng.random() < 0.4
    pp_de, pp_en = [], []
    if rng.random() < 0.3:
        np_de, np_en, _ = _noun_phrase(rng, "dat", animate_only=True)
        pp_de, pp_en = ["mit"] + np_de, ["with"] + np_en
    if perfect:
        aux_de, aux_en = ("haben" if plural else "hat"), ("have" if plural else "has")
        en_clause = subj_en + [aux_en, epart] + obj_en + pp_en
    else:
        aux_de = vpl if plural else v3
        en_clause = subj_en + [epl if plural else e3] + obj_en + pp_en
    form = rng.random()
    if form < 0.3:                                   # subordinate clause: verb-final
        m_de, m_en = rng.choice(_MATRIX)
        tail = ([vpart, aux_de] if perfect else [aux_de])
        return m_de + subj_de + obj_de + pp_de + tail, m_en + en_clause
    middle = obj_de + pp_de + ([vpart] if perfect else [])
    if form < 0.6:                                   # fronted adverb: verb second, subject after it
        adv_de, adv_en = rng.choice(_ADVERBS)
        return [adv_de, aux_de] + subj_de + middle, [adv_en] + en_clause
    return subj_de + [aux_de] + middle, en_clause    # plain main clause


def generate_corpus(n_pairs=4000, seed=0):
    """``n_pairs`` distinct (German, English) sentence pairs from the kit's grammar.

    Deterministic: the same ``seed`` always gives the same list. Sentences are
    lower-case words separated by single spaces, 4 to 16 words long, and the two
    sides of a pair have the same number of words (a subordinate clause drops the
    German comma), so even a position-wise model can be trained on them.

    Returns:
        list of (de, en) string pairs.
    """
    rng = random.Random(seed)
    seen, pairs = set(), []
    tries = 0
    while len(pairs) < n_pairs:
        tries += 1
        if tries > 50 * n_pairs:
            raise ValueError("generate_corpus: the grammar cannot make %d distinct pairs; ask for fewer" % n_pairs)
        de, en = _sentence(rng)
        key = " ".join(de)
        if key in seen:
            continue
        seen.add(key)
        pairs.append((key, " ".join(en)))
    return pairs


def load_embedded(n_pairs=4000, seed=0, valid_fraction=0.1, test_fraction=0.1):
    """The generated corpus split into {"train", "valid", "test"} lists of (de, en) pairs."""
    pairs = generate_corpus(n_pairs, seed)
    n_valid, n_test = int(round(valid_fraction * n_pairs)), int(round(test_fraction * n_pairs))
    return {"train": pairs[n_valid + n_test:], "valid": pairs[:n_valid], "test": pairs[n_valid:n_valid + n_test]}


# ---------------------------------------------------------------- Multi30k from its raw files
#: A copy of the Multi30k entries of the kit's datasets/manifest.toml (a kit test checks they agree).
MULTI30K = {
    "archives": {
        "train": ("https://raw.githubusercontent.com/neychev/small_DL_repo/master/datasets/Multi30k/training.tar.gz",
                  "20140d013d05dd9a72dfde46478663ba05737ce983f478f960c1123c6671be5e"),
        "valid": ("https://raw.githubusercontent.com/neychev/small_DL_repo/master/datasets/Multi30k/validation.tar.gz",
                  "a7aa20e9ebd5ba5adce7909498b94410996040857154dab029851af3a866da8c"),
        "test": ("https://raw.githubusercontent.com/neychev/small_DL_repo/master/datasets/Multi30k/"
                 "mmt16_task1_test.tar.gz",
                 "6d1ca1dba99e2c5dd54cae1226ff11c2551e6ce63527ebb072a1f70f72a5cd36"),
    },
    # sha256 of the extracted text files (None: not recorded, not checked)
    "files": {
        "train.de": "695df46f6fd14567e69970408a2c129a50e778a910ecb1585a92eb25b2c7accc",
        "train.en": "4b4d37e774976ef44fecca1738cdeb3b3ba384851a59a755b9c5e6aa7d87b13c",
        "val.de": "fd0fc009db2446cfc12d96a382aff0d3122cb47577b352d0f7e0bb3a38e2e552",
        "val.en": "40cd20974079d9afb0e3d27c659a8e059cc2fcf850b4bc23ede13fc36dd8a865",
        "test.de": None,
        "test.en": None,
    },
}
_PREFIXES = {"train": ("train",), "valid": ("val",), "test": ("test", "test_2016_flickr", "test2016")}


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _find(root, split, lang):
    for prefix in _PREFIXES[split]:
        for name in (prefix + "." + lang, prefix + "." + lang + ".gz"):
            if os.path.exists(os.path.join(root, name)):
                return os.path.join(root, name)
    return None


def _read_lines(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return [line.rstrip("\n").rstrip("\r") for line in fh]


def _check_file(path, split, lang):
    """Compare the text file (decompressed when .gz) with its recorded sha256, if there is one."""
    expected = MULTI30K["files"].get(_PREFIXES[split][0] + "." + lang)
    if expected is None:
        return
    if path.endswith(".gz"):
        h = hashlib.sha256()
        with gzip.open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        got = h.hexdigest()
    else:
        got = sha256(path)
    if got != expected:
        raise ChecksumError("%s has sha256 %s, not Multi30k's %s; delete it and download again, or pass verify=False"
                            % (path, got[:12], expected[:12]))


def download_multi30k(root="data/multi30k", split="train"):
    """Fetch one split's archive, check its sha256 and unpack its .de/.en files into ``root``."""
    url, expected = MULTI30K["archives"][split]
    os.makedirs(root, exist_ok=True)
    archive = os.path.join(root, os.path.basename(url))
    if not os.path.exists(archive) or sha256(archive) != expected:
        tmp = archive + ".part"
        with urllib.request.urlopen(url, timeout=60) as resp, open(tmp, "wb") as fh:
            shutil.copyfileobj(resp, fh)
        os.replace(tmp, archive)
    got = sha256(archive)
    if got != expected:
        raise ChecksumError("%s has sha256 %s, not %s; the download is corrupt, delete it and try again"
                            % (archive, got[:12], expected[:12]))
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            name = os.path.basename(member.name)
            if member.isfile() and not name.startswith(".") and name.split(".")[-1] in ("de", "en"):
                with tar.extractfile(member) as src, open(os.path.join(root, name), "wb") as dst:
                    shutil.copyfileobj(src, dst)


def load_multi30k(root="data/multi30k", split="train", download=False, verify=True):
    """Multi30k German->English pairs of one split, read from its raw files.

    Args:
        root:     folder with ``train.de``/``train.en``, ``val.*``, ``test.*`` (or
                  ``test_2016_flickr.*``), plain or gzip-compressed (``.gz``).
        split:    "train", "valid" or "test".
        download: fetch and unpack the split (sha256-checked) when its files are missing.
        verify:   compare each file with its recorded sha256 (see ``MULTI30K``).

    Returns:
        list of (de, en) string pairs, in file order.

    Raises:
        DatasetNotFound: the files are missing and ``download`` is False.
        ChecksumError:   a file does not have its recorded sha256.
        ValueError:      the .de and .en files have different numbers of lines.
    """
    if split not in _PREFIXES:
        raise ValueError("split must be 'train', 'valid' or 'test', not %r" % (split,))
    paths = [_find(root, split, lang) for lang in ("de", "en")]
    if None in paths and download:
        download_multi30k(root, split)
        paths = [_find(root, split, lang) for lang in ("de", "en")]
    if None in paths:
        raise DatasetNotFound("Multi30k %s files not found in %s; call load_multi30k(root, download=True) or use "
                              "load_embedded()" % (split, os.path.abspath(root)))
    if verify:
        for path, lang in zip(paths, ("de", "en")):
            _check_file(path, split, lang)
    de, en = _read_lines(paths[0]), _read_lines(paths[1])
    while de and en and not de[-1].strip() and not en[-1].strip():  # a trailing empty line
        de.pop()
        en.pop()
    if len(de) != len(en):
        raise ValueError("%s has %d lines but %s has %d; the two files of a split must be parallel"
                         % (paths[0], len(de), paths[1], len(en)))
    return list(zip(de, en))


# ---------------------------------------------------------------- from pairs to batches
def filter_by_length(pairs, max_len):
    """Keep the pairs whose two sides both have at most ``max_len`` tokens."""
    return [(de, en) for de, en in pairs if len(tokenize(de)) <= max_len and len(tokenize(en)) <= max_len]


class TranslationData:
    """Vocabularies built on the training pairs, and batches of token ids.

    Args:
        splits:   {"train": pairs, "valid": pairs, "test": pairs} (as ``load_embedded`` returns).
        min_freq: passed to both Vocabulary objects.
        max_len:  pairs with a side longer than this (in tokens, before <sos>/<eos>) are dropped.
    """

    def __init__(self, splits, min_freq=1, max_len=41):
        self.splits = {k: filter_by_length(v, max_len) for k, v in splits.items()}
        train = self.splits["train"]
        self.src_vocab = Vocabulary([tokenize(de) for de, _ in train], min_freq)
        self.tgt_vocab = Vocabulary([tokenize(en) for _, en in train], min_freq)
        self.max_len = max_len

    def encode_pairs(self, pairs):
        return [(self.src_vocab.encode(tokenize(de)), self.tgt_vocab.encode(tokenize(en))) for de, en in pairs]

    def batches(self, split, batch_size=64, shuffle=False, seed=0, pad_to=None):
        """Yield (src (N, S), tgt (N, T)) int64 tensors, each side padded with PAD_IDX.

        ``pad_to``: pad both sides to this common length (the position-wise
        TransformerTranslator needs source and target of the same length).
        """
        encoded = self.encode_pairs(self.splits[split])
        order = list(range(len(encoded)))
        if shuffle:
            random.Random(seed).shuffle(order)
        for start in range(0, len(order), batch_size):
            chunk = [encoded[i] for i in order[start:start + batch_size]]
            src, tgt = pad_batch([s for s, _ in chunk]), pad_batch([t for _, t in chunk])
            if pad_to is not None:
                src, tgt = _pad_to(src, pad_to), _pad_to(tgt, pad_to)
            yield src, tgt


def _pad_to(batch, length):
    if batch.shape[1] >= length:
        return batch[:, :length]
    fill = torch.full((batch.shape[0], length - batch.shape[1]), PAD_IDX, dtype=batch.dtype)
    return torch.cat([batch, fill], dim=1)
