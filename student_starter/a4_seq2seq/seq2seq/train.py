"""Training and evaluation (given): the loop, perplexity, BLEU, example translations, attention plots.

Three kinds of model, named by ``kind``:

- "seq2seq":     model.Seq2Seq; trained with teacher forcing, outputs log-probabilities;
                 translated by greedy decoding (``model(src, out_seq_len=...)``).
- "transformer": transformer.TransformerTranslator; predicts target token t at source
                 position t, so source and target are padded to one length (``pad_to``).
- "full":        transformer.FullTransformerTranslator; teacher forcing with the target
                 shifted right; translated by ``generate_translation``.
"""
import math

import torch
import torch.nn.functional as F

from .data import EOS_IDX, PAD_IDX

KINDS = ("seq2seq", "transformer", "full")


def _progress(iterable, **kw):
    try:
        from tqdm.auto import tqdm
    except ImportError:  # tqdm is optional
        return iterable
    return tqdm(iterable, **kw)


def _check_kind(kind):
    if kind not in KINDS:
        raise ValueError("kind must be one of %s, not %r" % (", ".join(KINDS), kind))


def loss_on_batch(model, src, tgt, kind):
    """Mean cross-entropy per target token (padding ignored) of one batch."""
    _check_kind(kind)
    if kind == "seq2seq":
        log_probs = model(src, target=tgt)                       # (N, T-1, V) log-probabilities
        return F.nll_loss(log_probs.reshape(-1, log_probs.shape[-1]), tgt[:, 1:].reshape(-1), ignore_index=PAD_IDX)
    if kind == "transformer":
        scores = model(src)                                      # (N, T, V), src and tgt of one length
        return F.cross_entropy(scores.reshape(-1, scores.shape[-1]), tgt.reshape(-1), ignore_index=PAD_IDX)
    scores = model(src, tgt[:, :-1])                             # (N, T-1, V)
    return F.cross_entropy(scores.reshape(-1, scores.shape[-1]), tgt[:, 1:].reshape(-1), ignore_index=PAD_IDX)


def perplexity(loss):
    """exp(mean cross-entropy per token): the size of a uniform choice that is as uncertain."""
    return float(math.exp(min(float(loss), 50.0)))


def _batches(data, split, kind, batch_size, shuffle=False, seed=0, model=None):
    pad_to = model.max_length if kind == "transformer" else None
    return list(data.batches(split, batch_size, shuffle=shuffle, seed=seed, pad_to=pad_to))


def train_epoch(model, data, optimizer, kind, batch_size=64, clip=1.0, seed=0, progress=True):
    """One pass over the training split; returns the mean loss per batch.

    Each step: loss -> backward -> clip the gradient norm to ``clip`` -> optimizer step.
    """
    model.train()
    batches = _batches(data, "train", kind, batch_size, shuffle=True, seed=seed, model=model)
    total = 0.0
    bar = _progress(batches, desc="train", leave=False) if progress else batches
    for src, tgt in bar:
        optimizer.zero_grad()
        loss = loss_on_batch(model, src, tgt, kind)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        total += float(loss.detach())
        if hasattr(bar, "set_postfix"):
            bar.set_postfix(loss="%.3f" % float(loss.detach()))
    return total / max(len(batches), 1)


def evaluate(model, data, kind, split="valid", batch_size=128):
    """Mean loss per batch on a split, without gradients (teacher forcing for seq2seq and full)."""
    model.eval()
    batches = _batches(data, split, kind, batch_size, model=model)
    with torch.no_grad():
        losses = [float(loss_on_batch(model, src, tgt, kind)) for src, tgt in batches]
    return sum(losses) / max(len(losses), 1)


def fit(model, data, kind, epochs=10, lr=1e-3, batch_size=64, clip=1.0, seed=0, progress=True):
    """Train with Adam for ``epochs``; returns {"train_loss", "valid_loss", "valid_ppl"}, one value per epoch."""
    torch.manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = {"train_loss": [], "valid_loss": [], "valid_ppl": []}
    bar = _progress(range(epochs), desc="epochs") if progress else range(epochs)
    for epoch in bar:
        history["train_loss"].append(train_epoch(model, data, optimizer, kind, batch_size, clip, seed + epoch,
                                                 progress=progress))
        valid = evaluate(model, data, kind)
        history["valid_loss"].append(valid)
        history["valid_ppl"].append(perplexity(valid))
        if hasattr(bar, "set_postfix"):
            bar.set_postfix(train=history["train_loss"][-1], valid_ppl=history["valid_ppl"][-1])
    return history


def _cut(ids):
    """Token ids up to (not including) the first <eos>."""
    out = []
    for i in ids:
        if int(i) == EOS_IDX:
            break
        out.append(int(i))
    return out


def translate_ids(model, src, kind, max_len=None):
    """Greedy translations of a batch of source ids: a list of N id lists, without <sos> and <eos>."""
    _check_kind(kind)
    model.eval()
    with torch.no_grad():
        if kind == "seq2seq":
            out = model(src, out_seq_len=(max_len or src.shape[1] + 2) - 1).argmax(dim=-1)    # (N, L)
        elif kind == "transformer":
            out = model(src).argmax(dim=-1)[:, 1:]                                            # (N, T-1)
        else:
            out = model.generate_translation(src, max_len)[:, 1:]                             # (N, L-1)
    return [_cut(row) for row in out.tolist()]


def translate(model, data, sentences, kind, max_len=None):
    """Translate German strings; returns English strings."""
    from .data import pad_batch, tokenize

    ids = pad_batch([data.src_vocab.encode(tokenize(s)) for s in sentences])
    if kind == "transformer":
        from .data import _pad_to

        ids = _pad_to(ids, model.max_length)
    return [" ".join(data.tgt_vocab.decode(row)) for row in translate_ids(model, ids, kind, max_len)]


def bleu(model, data, kind, split="test", batch_size=128, max_len=None):
    """Corpus BLEU (sacrebleu, 0-100) of the greedy translations of a split against its references."""
    import sacrebleu

    from .data import tokenize

    hyps, refs = [], []
    for i in range(0, len(data.splits[split]), batch_size):
        chunk = data.splits[split][i:i + batch_size]
        hyps += translate(model, data, [de for de, _ in chunk], kind, max_len)
        refs += [" ".join(tokenize(en)) for _, en in chunk]
    return float(sacrebleu.corpus_bleu(hyps, [refs]).score)


def example_translations(model, data, kind, n=5, split="test"):
    """The first ``n`` (source, reference, model translation) triples of a split."""
    pairs = data.splits[split][:n]
    hyps = translate(model, data, [de for de, _ in pairs], kind)
    return [(de, en, hyp) for (de, en), hyp in zip(pairs, hyps)]


# ---------------------------------------------------------------- attention maps
def seq2seq_attention(model, src, out_seq_len):
    """Attention weights of a Seq2Seq decoder with attention, for one sentence.

    Records what ``model.decoder.compute_attention`` returns at each greedy step.

    Args:
        src: (S,) int64 source ids.

    Returns:
        (out_seq_len, S) tensor: row t holds the weights over the source at step t.
    """
    recorded = []
    original = model.decoder.compute_attention

    def spy(hidden, encoder_outputs):
        weights = original(hidden, encoder_outputs)
        recorded.append(weights.detach()[0, 0])
        return weights

    model.eval()
    model.decoder.compute_attention = spy
    try:
        with torch.no_grad():
            model(src[None], out_seq_len=out_seq_len)
    finally:
        del model.decoder.compute_attention
    return torch.stack(recorded)


def transformer_attention(model, src):
    """Self-attention weights of a TransformerTranslator for one sentence: (num_heads, S, S)."""
    model.eval()
    with torch.no_grad():
        x = model.embed(src[None])                                        # (1, S, C)
        S, h, d = src.shape[0], model.num_heads, model.dim_k
        q = model.q_proj(x).view(S, h, d).transpose(0, 1)                 # (h, S, d)
        k = model.k_proj(x).view(S, h, d).transpose(0, 1)                 # (h, S, d)
        scores = q @ k.transpose(1, 2) / math.sqrt(d)                     # (h, S, S)
        scores = scores.masked_fill((src == model.pad_idx)[None, None, :], float("-inf"))
        return torch.softmax(scores, dim=-1)


def plot_attention(weights, src_tokens, out_tokens, ax=None, title=None):
    """Heatmap of attention weights (rows: output tokens, columns: source tokens). Returns the axes."""
    import matplotlib.pyplot as plt

    weights = torch.as_tensor(weights).detach().cpu().numpy()
    weights = weights[:len(out_tokens), :len(src_tokens)]
    if ax is None:
        _, ax = plt.subplots(figsize=(0.5 * len(src_tokens) + 2, 0.5 * len(out_tokens) + 1.5))
    im = ax.imshow(weights, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(len(src_tokens)))
    ax.set_xticklabels(src_tokens, rotation=60, ha="right")
    ax.set_yticks(range(len(out_tokens)))
    ax.set_yticklabels(out_tokens)
    ax.set_xlabel("source")
    ax.set_ylabel("output")
    if title:
        ax.set_title(title)
    ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    return ax


def plot_curves(histories, title=None):
    """Training and validation loss, and validation perplexity, per epoch for several models.

    Args:
        histories: {label: history returned by ``fit``}.
    """
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_ppl) = plt.subplots(1, 2, figsize=(11, 3.5))
    for label, h in histories.items():
        epochs = range(1, len(h["train_loss"]) + 1)
        line, = ax_loss.plot(epochs, h["train_loss"], label=label + " train")
        ax_loss.plot(epochs, h["valid_loss"], "--", color=line.get_color(), label=label + " valid")
        ax_ppl.plot(epochs, h["valid_ppl"], color=line.get_color(), label=label)
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy per token", title="Loss")
    ax_ppl.set(xlabel="epoch", ylabel="perplexity", title="Validation perplexity", yscale="log")
    ax_loss.legend(fontsize=7)
    ax_ppl.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
