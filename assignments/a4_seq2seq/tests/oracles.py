"""A4 oracles: torch.nn modules with copied weights, and closed forms in NumPy.

Run in the harness only. Weights are drawn here from the test's rng and sent to the
worker by parameter name (the names in the student docstrings), so both sides compute
with the same numbers. Students' modules run in float32 (PyTorch's default dtype), so
every weight and input is drawn as a float32 number (``draw_weights``, ``f32``): the
worker gets them exactly, and the oracles here compute the exact answer for those
numbers in float64; the tests compare with float32 tolerances. ``make_toy`` comes from
the probes so both sides build the same toy encoder/decoder around the student's
Seq2Seq (float32 there, float64 copies here).

Train mode: dropout masks are what ``nn.Dropout`` draws right after
``torch.manual_seed(seed)``; ``dropout_mask`` draws them here the same way (float32,
like the student's embeddings), on a forked RNG so the harness's own stream is untouched.
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from probes.a4_probes import make_toy  # noqa: F401  (re-exported for the tests)

PAD, UNK, SOS, EOS = 0, 1, 2, 3
T64 = torch.float64


# ---------------------------------------------------------------- random weights by name
def _draw(rng, name, shape):
    shape = tuple(shape)
    if name.endswith("norm_mh.weight") or name.endswith("norm_ff.weight") or (".norm" in name and name.endswith(
            "weight")):
        return 1.0 + 0.1 * rng.normal(size=shape)
    if len(shape) == 1:
        return 0.1 * rng.normal(size=shape)
    if "embedding" in name:
        return rng.normal(size=shape)
    return rng.normal(size=shape) / np.sqrt(shape[-1])


def f32(a):
    """``a`` rounded to float32 numbers, kept as float64 (NumPy): the worker gets these values exactly."""
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def draw_weights(rng, shapes):
    """{name: float64 tensor holding float32 numbers} for {name: shape}."""
    return {k: torch.tensor(f32(_draw(rng, k, s)), dtype=T64) for k, s in sorted(shapes.items())}


def with_bias(weights, name, index, delta):
    """A copy of ``weights`` with ``delta`` added to ``weights[name][index]`` (rounded to float32)."""
    w = dict(weights)
    b = w[name].clone()
    b[index] = float(np.float32(float(b[index]) + delta))
    w[name] = b
    return w


def greedy_margin(scores):
    """Smallest gap between the best and the second-best score over (..., V): how far greedy decoding is from a tie."""
    top = np.sort(np.asarray(scores, dtype=np.float64), axis=-1)
    return float((top[..., -1] - top[..., -2]).min())


def dropout_mask(seed, shape, p):
    """The mask (0 or 1/(1-p)) ``nn.Dropout(p)`` multiplies a float32 tensor of ``shape`` by, in train mode, right
    after ``torch.manual_seed(seed)``; float64."""
    with torch.random.fork_rng(devices=()):
        torch.random.manual_seed(int(seed))
        return F.dropout(torch.ones(tuple(shape), dtype=torch.float32), float(p), training=True).double()


def rnn_shapes(D, H, O):
    return {"i2h.weight": (H, D + H), "i2h.bias": (H,), "i2o.weight": (O, D + H), "i2o.bias": (O,)}


def lstm_shapes(D, H):
    shapes = {}
    for g in "ifgo":
        shapes.update({"W_i" + g: (D, H), "W_h" + g: (H, H), "b_i" + g: (H,), "b_h" + g: (H,)})
    return shapes


def _recurrent_shapes(prefix, kind, n_in, H):
    rows = 4 * H if kind == "LSTM" else H
    return {prefix + "weight_ih_l0": (rows, n_in), prefix + "weight_hh_l0": (rows, H),
            prefix + "bias_ih_l0": (rows,), prefix + "bias_hh_l0": (rows,)}


def encoder_shapes(V, E, He, Hd, kind):
    shapes = {"embedding.weight": (V, E), "linear1.weight": (He, He), "linear1.bias": (He,),
              "linear2.weight": (Hd, He), "linear2.bias": (Hd,)}
    shapes.update(_recurrent_shapes("recurrent.", kind, E, He))
    return shapes


def decoder_shapes(E, He, Hd, V, kind, attention):
    shapes = {"embedding.weight": (V, E), "linear.weight": (V, Hd), "linear.bias": (V,)}
    shapes.update(_recurrent_shapes("recurrent.", kind, E + He if attention else E, Hd))
    return shapes


def transformer_shapes(Vin, Vout, C, h, Fdim, dk, dv, L):
    return {"embedding.weight": (Vin, C), "pos_embedding.weight": (L, C),
            "q_proj.weight": (h * dk, C), "q_proj.bias": (h * dk,), "k_proj.weight": (h * dk, C),
            "k_proj.bias": (h * dk,), "v_proj.weight": (h * dv, C), "v_proj.bias": (h * dv,),
            "attention_head_projection.weight": (C, h * dv), "attention_head_projection.bias": (C,),
            "norm_mh.weight": (C,), "norm_mh.bias": (C,), "ff1.weight": (Fdim, C), "ff1.bias": (Fdim,),
            "ff2.weight": (C, Fdim), "ff2.bias": (C,), "norm_ff.weight": (C,), "norm_ff.bias": (C,),
            "fc.weight": (Vout, C), "fc.bias": (Vout,)}


def _torch_transformer(kw, dropout=0.0):
    return nn.Transformer(d_model=kw["hidden_dim"], nhead=kw["num_heads"], num_encoder_layers=kw["num_layers_enc"],
                          num_decoder_layers=kw["num_layers_dec"], dim_feedforward=kw["dim_feedforward"],
                          dropout=dropout, batch_first=True)


def full_shapes(kw):
    C, L = kw["hidden_dim"], kw["max_length"]
    shapes = {"src_embedding.weight": (kw["input_size"], C), "src_pos_embedding.weight": (L, C),
              "tgt_embedding.weight": (kw["output_size"], C), "tgt_pos_embedding.weight": (L, C),
              "fc.weight": (kw["output_size"], C), "fc.bias": (kw["output_size"],)}
    shapes.update({"transformer." + k: tuple(v.shape) for k, v in _torch_transformer(kw).state_dict().items()})
    return shapes


# ---------------------------------------------------------------- NumPy helpers
def np_softmax(s, axis=-1):
    s = s - np.max(s, axis=axis, keepdims=True)
    e = np.exp(s)
    return e / e.sum(axis=axis, keepdims=True)


def np_log_softmax(s, axis=-1):
    s = s - np.max(s, axis=axis, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=axis, keepdims=True))


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def layer_norm(x, g, b, eps=1e-5):
    mu = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


def _np(w):
    return {k: v.numpy() for k, v in w.items()}


# ---------------------------------------------------------------- VanillaRNN
def rnn_step(weights, x, h):
    """(log_probs, hidden): hidden from torch.nn.RNNCell with the i2h weights split, output closed form."""
    D, H = x.shape[1], h.shape[1]
    W, b = weights["i2h.weight"], weights["i2h.bias"]
    cell = nn.RNNCell(D, H).double()
    with torch.no_grad():
        cell.weight_ih.copy_(W[:, :D])
        cell.weight_hh.copy_(W[:, D:])
        cell.bias_ih.copy_(b)
        cell.bias_hh.zero_()
        hidden = cell(torch.as_tensor(x), torch.as_tensor(h)).numpy()
    z = np.concatenate([x, h], axis=1)
    scores = z @ weights["i2o.weight"].numpy().T + weights["i2o.bias"].numpy()
    return np_log_softmax(scores, axis=1), hidden


def rnn_misconceptions(weights, x, h):
    z = np.concatenate([x, h], axis=1)
    scores = z @ weights["i2o.weight"].numpy().T + weights["i2o.bias"].numpy()
    pre = z @ weights["i2h.weight"].numpy().T + weights["i2h.bias"].numpy()
    return {
        "log_probs": {
            "log-softmax over the wrong axis: normalise each row (dim=1, over the classes), not each column":
                np_log_softmax(scores, axis=0),
            "you returned probabilities (softmax); return log-probabilities (log_softmax)": np_softmax(scores, axis=1),
            "you returned raw scores; apply log_softmax over the classes": scores},
        "hidden": {"you used ReLU for the hidden state; a vanilla RNN uses tanh": np.maximum(pre, 0.0),
                   "the hidden state has no tanh": pre},
    }


# ---------------------------------------------------------------- LSTM
def lstm_torch(weights, x):
    """(h_T, c_T) of torch.nn.LSTM with the per-gate weights stacked in its i, f, g, o order."""
    D, H = weights["W_ii"].shape
    m = nn.LSTM(D, H, batch_first=True).double()
    with torch.no_grad():
        m.weight_ih_l0.copy_(torch.cat([weights["W_i" + g].T for g in "ifgo"]))
        m.weight_hh_l0.copy_(torch.cat([weights["W_h" + g].T for g in "ifgo"]))
        m.bias_ih_l0.copy_(torch.cat([weights["b_i" + g] for g in "ifgo"]))
        m.bias_hh_l0.copy_(torch.cat([weights["b_h" + g] for g in "ifgo"]))
        _, (h, c) = m(torch.as_tensor(x))
    return h[0].numpy(), c[0].numpy()


def lstm_numpy(weights, x, forget_act=_sigmoid, swap_input_forget=False, carry_cell=True, carry_hidden=True,
               output_act=_sigmoid):
    """The LSTM recurrence in NumPy; the keyword arguments reproduce common mistakes."""
    w = _np(weights)
    N, T, _ = x.shape
    H = w["W_ii"].shape[1]
    h, c = np.zeros((N, H)), np.zeros((N, H))

    def gate(g, xt, h):
        return xt @ w["W_i" + g] + w["b_i" + g] + h @ w["W_h" + g] + w["b_h" + g]

    for t in range(T):
        xt = x[:, t]
        h_in = h if carry_hidden else np.zeros_like(h)
        i = _sigmoid(gate("f" if swap_input_forget else "i", xt, h_in))
        f = forget_act(gate("i" if swap_input_forget else "f", xt, h_in))
        g = np.tanh(gate("g", xt, h_in))
        o = output_act(gate("o", xt, h_in))
        c = (f * c if carry_cell else 0.0) + i * g
        h = o * np.tanh(c)
    return h, c


def lstm_misconceptions(weights, x):
    variants = {
        "tanh on the forget gate: the input, forget and output gates use sigmoid, only g uses tanh":
            lstm_numpy(weights, x, forget_act=np.tanh),
        "the input and forget gates are swapped (check which W_i?/W_h?/b_?? each gate uses)":
            lstm_numpy(weights, x, swap_input_forget=True),
        "the cell state is not carried across steps: c_t = f_t * c_{t-1} + i_t * g_t":
            lstm_numpy(weights, x, carry_cell=False),
        "the hidden state is not carried across steps (reset to zero at every step?)":
            lstm_numpy(weights, x, carry_hidden=False),
        "tanh on the output gate; it uses sigmoid": lstm_numpy(weights, x, output_act=np.tanh),
    }
    return {"h": {k: v[0] for k, v in variants.items()}, "c": {k: v[1] for k, v in variants.items()}}


# ---------------------------------------------------------------- encoder / decoder
def _recurrent(weights, prefix, kind, n_in, H):
    m = (nn.LSTM if kind == "LSTM" else nn.RNN)(n_in, H, batch_first=True).double()
    m.load_state_dict({k[len(prefix):]: v for k, v in weights.items() if k.startswith(prefix)})
    return m


def encoder(weights, kind, source, project=True, mask=None):
    """(outputs, hidden[, cell]) of the Encoder, with torch.nn.RNN/LSTM holding the copied weights.

    mask: the dropout mask (N, T, E) on the embeddings in train mode (None: eval mode)."""
    V, E = weights["embedding.weight"].shape
    He = weights["linear1.weight"].shape[0]
    with torch.no_grad():
        emb = F.embedding(torch.as_tensor(source), weights["embedding.weight"])
        if mask is not None:
            emb = emb * mask
        outputs, state = _recurrent(weights, "recurrent.", kind, E, He)(emb)
        h = state[0] if kind == "LSTM" else state
        if project:
            h = torch.tanh(F.linear(torch.relu(F.linear(h, weights["linear1.weight"], weights["linear1.bias"])),
                                    weights["linear2.weight"], weights["linear2.bias"]))
        out = {"outputs": outputs.numpy(), "hidden": h.numpy()}
        if kind == "LSTM":
            out["cell"] = state[1].numpy()
    return out


def encoder_misconceptions(weights, kind, source):
    unprojected = encoder(weights, kind, source, project=False)["hidden"]
    return {"you returned the recurrent layer's last hidden state without linear1 -> ReLU -> linear2 -> tanh":
            unprojected}


def cosine_attention(hidden, encoder_outputs, axis=1, cosine=True):
    """(N, 1, T) softmax over T of the cosine similarity between hidden[0, n] and encoder_outputs[n, t]."""
    q = hidden[0][:, None, :]                                   # (N, 1, H)
    dots = (q * encoder_outputs).sum(axis=2)                    # (N, T)
    if cosine:
        dots = dots / (np.linalg.norm(q, axis=2) * np.linalg.norm(encoder_outputs, axis=2))
    return np_softmax(dots, axis=axis)[:, None, :]


def attention_misconceptions(hidden, encoder_outputs):
    return {
        "softmax over the wrong axis: normalise over the T source steps (dim=1 of the (N, T) scores)":
            cosine_attention(hidden, encoder_outputs, axis=0),
        "plain dot products: divide by ||q|| ||k_t|| for the cosine similarity":
            cosine_attention(hidden, encoder_outputs, cosine=False),
    }


def decoder_step(weights, kind, attention, input, hidden, encoder_outputs, cell=None, context_first=False,
                 mask=None, mask_after_concat=False):
    """One Decoder step; mask: the dropout mask on the embedding (N, 1, E) in train mode, or with
    ``mask_after_concat`` (a mistake) on [embedding, context] (N, 1, E + H_enc)."""
    V, E = weights["embedding.weight"].shape
    Hd = weights["linear.weight"].shape[1]
    with torch.no_grad():
        x = F.embedding(torch.as_tensor(input), weights["embedding.weight"])          # (N, 1, E)
        if mask is not None and not mask_after_concat:
            x = x * mask
        if attention:
            a = torch.as_tensor(cosine_attention(np.asarray(hidden), np.asarray(encoder_outputs)))
            context = torch.bmm(a, torch.as_tensor(encoder_outputs))                  # (N, 1, He)
            x = torch.cat([context, x] if context_first else [x, context], dim=2)
        if mask is not None and mask_after_concat:
            x = x * mask
        n_in = x.shape[2]
        state = (torch.as_tensor(hidden), torch.as_tensor(cell)) if kind == "LSTM" else torch.as_tensor(hidden)
        out, state = _recurrent(weights, "recurrent.", kind, n_in, Hd)(x, state)
        log_probs = torch.log_softmax(F.linear(out[:, 0], weights["linear.weight"], weights["linear.bias"]), dim=1)
        res = {"log_probs": log_probs.numpy()}
        if kind == "LSTM":
            res["hidden"], res["cell"] = state[0].numpy(), state[1].numpy()
        else:
            res["hidden"] = state.numpy()
    return res


def seq2seq_full(enc_w, dec_w, kind, attention, source, out_seq_len):
    """Greedy decoding with the Encoder and Decoder oracles above."""
    enc = encoder(enc_w, kind, source)
    hidden, cell = enc["hidden"], enc.get("cell")
    token = np.asarray(source)[:, :1]
    outs = []
    for _ in range(out_seq_len):
        step = decoder_step(dec_w, kind, attention, token, hidden, enc["outputs"], cell)
        outs.append(step["log_probs"])
        hidden, cell = step["hidden"], step.get("cell")
        token = step["log_probs"].argmax(axis=1)[:, None]
    return np.stack(outs, axis=1)


# ---------------------------------------------------------------- Seq2Seq around the toy modules
def toy_seq2seq(seed, vocab, source, out_seq_len, target=None, feed="prediction", carry_hidden=True):
    """(log-probs (N, L, V), decoder inputs (N, L), first decoder hidden) of greedy / teacher-forced decoding.

    feed: "prediction" (correct), "sos" (the input never changes), "source" (source tokens fed instead).
    """
    enc, dec = make_toy(seed, vocab)                       # float32, as the worker builds them
    enc, dec = enc.double(), dec.double()                   # the same numbers, computed in float64
    src = torch.as_tensor(source)
    with torch.no_grad():
        enc_out, enc_hidden = enc(src)
        state, token, outs, fed = enc_hidden, src[:, :1], [], []
        for t in range(out_seq_len):
            fed.append(token)
            lp, new_state = dec(token, state if carry_hidden else enc_hidden, enc_out)
            state = new_state
            outs.append(lp)
            if target is not None:
                token = torch.as_tensor(target)[:, t + 1:t + 2]
            elif feed == "prediction":
                token = lp.argmax(dim=1, keepdim=True)
            elif feed == "source":
                token = src[:, min(t + 1, src.shape[1] - 1)][:, None]
    return torch.stack(outs, dim=1).numpy(), torch.cat(fed, dim=1).numpy(), enc_hidden.numpy()


def toy_misconceptions(seed, vocab, source, out_seq_len):
    return {
        "the decoder input never changes: feed back the argmax of each step's output":
            toy_seq2seq(seed, vocab, source, out_seq_len, feed="sos")[0],
        "source tokens were fed to the decoder; greedy decoding feeds back its own predictions":
            toy_seq2seq(seed, vocab, source, out_seq_len, feed="source")[0],
        "the hidden state is not carried from step to step: pass each step's returned hidden to the next":
            toy_seq2seq(seed, vocab, source, out_seq_len, carry_hidden=False)[0],
    }


# ---------------------------------------------------------------- TransformerTranslator
def embed(weights, inputs, positions=True):
    out = weights["embedding.weight"].numpy()[inputs]
    if positions:
        out = out + weights["pos_embedding.weight"].numpy()[:inputs.shape[1]]
    return out


def multi_head_attention(weights, kw, x, pad_mask=None, scale=True, axis=-1, mask_after=False, use_mask=True,
                         residual="post"):
    """Closed form; the keyword arguments reproduce common mistakes.

    residual: "post" (correct: LN(x + proj)), "pre" (x + LN(proj)), "none" (LN(proj)).
    """
    w = _np(weights)
    N, T, C = x.shape
    h, dk, dv = kw["num_heads"], kw["dim_k"], kw["dim_v"]

    def heads(name, d):
        y = x @ w[name + ".weight"].T + w[name + ".bias"]                    # (N, T, h*d)
        return y.reshape(N, T, h, d).transpose(0, 2, 1, 3)                   # (N, h, T, d)

    q, k, v = heads("q_proj", dk), heads("k_proj", dk), heads("v_proj", dv)
    s = q @ k.transpose(0, 1, 3, 2)                                          # (N, h, T, T)
    if scale:
        s = s / np.sqrt(dk)
    blocked = None if pad_mask is None or not use_mask else np.asarray(pad_mask, dtype=bool)[:, None, None, :]
    if blocked is not None and not mask_after:
        s = np.where(blocked, -np.inf, s)
    with np.errstate(invalid="ignore"):
        a = np_softmax(s, axis=axis)
    if blocked is not None and mask_after:
        a = np.where(blocked, 0.0, a)
    cat = (a @ v).transpose(0, 2, 1, 3).reshape(N, T, h * dv)
    proj = cat @ w["attention_head_projection.weight"].T + w["attention_head_projection.bias"]
    g, b = w["norm_mh.weight"], w["norm_mh.bias"]
    if residual == "pre":
        return x + layer_norm(proj, g, b)
    if residual == "none":
        return layer_norm(proj, g, b)
    return layer_norm(x + proj, g, b)


def multi_head_attention_torch(weights, kw, x, pad_mask=None):
    """The same through torch.nn.MultiheadAttention (needs num_heads * dim_k == hidden_dim == num_heads * dim_v)."""
    C, h = kw["hidden_dim"], kw["num_heads"]
    mha = nn.MultiheadAttention(C, h, batch_first=True).double().eval()
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.cat([weights[n + ".weight"] for n in ("q_proj", "k_proj", "v_proj")]))
        mha.in_proj_bias.copy_(torch.cat([weights[n + ".bias"] for n in ("q_proj", "k_proj", "v_proj")]))
        mha.out_proj.weight.copy_(weights["attention_head_projection.weight"])
        mha.out_proj.bias.copy_(weights["attention_head_projection.bias"])
        xt = torch.as_tensor(x)
        kpm = None if pad_mask is None else torch.as_tensor(pad_mask, dtype=torch.bool)
        y, _ = mha(xt, xt, xt, key_padding_mask=kpm, need_weights=False)
        return F.layer_norm(xt + y, (C,), weights["norm_mh.weight"], weights["norm_mh.bias"]).numpy()


def mha_misconceptions(weights, kw, x, pad_mask=None):
    out = {
        "no 1/sqrt(d_k) scaling: divide the scores Q K^T by sqrt(d_k)":
            multi_head_attention(weights, kw, x, pad_mask, scale=False),
        "LayerNorm before the residual: it is norm_mh(inputs + projection), not inputs + norm_mh(projection)":
            multi_head_attention(weights, kw, x, pad_mask, residual="pre"),
        "no residual connection: norm_mh(inputs + projection)":
            multi_head_attention(weights, kw, x, pad_mask, residual="none"),
    }
    if pad_mask is None:
        out["softmax over the wrong axis: normalise over the keys (the last axis), not the queries"] = \
            multi_head_attention(weights, kw, x, axis=-2)
    else:
        out["padding was attended to: give padded keys a score of -inf before the softmax"] = \
            multi_head_attention(weights, kw, x, pad_mask, use_mask=False)
        out["mask applied after the softmax: set the scores to -inf before it, so each row still sums to 1"] = \
            multi_head_attention(weights, kw, x, pad_mask, mask_after=True)
    return out


def feedforward(weights, x, residual="post"):
    w = _np(weights)
    y = np.maximum(x @ w["ff1.weight"].T + w["ff1.bias"], 0.0) @ w["ff2.weight"].T + w["ff2.bias"]
    g, b = w["norm_ff.weight"], w["norm_ff.bias"]
    if residual == "pre":
        return x + layer_norm(y, g, b)
    if residual == "none":
        return layer_norm(y, g, b)
    return layer_norm(x + y, g, b)


def ffn_misconceptions(weights, x):
    return {"LayerNorm before the residual: it is norm_ff(inputs + ff2(relu(ff1(inputs))))":
            feedforward(weights, x, residual="pre"),
            "no residual connection: add the inputs before norm_ff": feedforward(weights, x, residual="none")}


def final_layer(weights, x):
    return x @ weights["fc.weight"].numpy().T + weights["fc.bias"].numpy()


def transformer_forward(weights, kw, inputs, **mistake):
    x = embed(weights, inputs, positions=mistake.pop("positions", True))
    x = multi_head_attention(weights, kw, x, np.asarray(inputs) == kw.get("pad_idx", PAD), **mistake)
    return final_layer(weights, feedforward(weights, x))


def transformer_misconceptions(weights, kw, inputs):
    return {
        "the positional embedding is missing: add pos_embedding(0..T-1) to the token embedding":
            transformer_forward(weights, kw, inputs, positions=False),
        "padding was attended to: pass the pad mask (inputs == pad_idx) to multi_head_attention":
            transformer_forward(weights, kw, inputs, use_mask=False),
    }


def embed_misconceptions(weights, inputs):
    return {"the positional embedding is missing: add pos_embedding(0..T-1) to the token embedding":
            embed(weights, inputs, positions=False)}


# ---------------------------------------------------------------- FullTransformerTranslator
def causal_mask(size):
    """Closed form: True at (i, j) when j > i."""
    i, j = np.indices((size, size))
    return j > i


def _full_scores(weights, kw, src, tgt, diagonal=1, src_pad=True, tgt_pad=True, positions=True, train_seed=None,
                 dropout=None):
    """Scores of nn.Transformer with the copied weights. Eval mode in float64; with ``train_seed``, train mode
    with ``dropout`` (default kw["dropout"]) in float32, as the student's module runs, right after
    ``torch.manual_seed(train_seed)`` (nn.Transformer draws its own dropout masks; the embeddings draw none)."""
    train = train_seed is not None
    dtype = torch.float32 if train else T64
    tr = _torch_transformer(kw, kw["dropout"] if dropout is None else dropout) if train else _torch_transformer(kw)
    tr = tr.to(dtype).train(train)
    w = {k: v.to(dtype) for k, v in weights.items()}
    tr.load_state_dict({k[len("transformer."):]: v for k, v in w.items() if k.startswith("transformer.")})
    src, tgt = torch.as_tensor(src), torch.as_tensor(tgt)
    S, T = src.shape[1], tgt.shape[1]
    xs = F.embedding(src, w["src_embedding.weight"])
    xt = F.embedding(tgt, w["tgt_embedding.weight"])
    if positions:
        xs = xs + w["src_pos_embedding.weight"][:S]
        xt = xt + w["tgt_pos_embedding.weight"][:T]
    mask = None if diagonal is None else torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=diagonal)
    spm = (src == kw["pad_idx"]) if src_pad else None
    tpm = (tgt == kw["pad_idx"]) if tgt_pad else None
    with torch.random.fork_rng(devices=()):
        if train:
            torch.manual_seed(int(train_seed))
        y = tr(xs, xt, tgt_mask=mask, src_key_padding_mask=spm, memory_key_padding_mask=spm, tgt_key_padding_mask=tpm)
    return F.linear(y, w["fc.weight"], w["fc.bias"]).double()


def full_forward(weights, kw, src, tgt, **mistake):
    """Scores of torch.nn.Transformer (copied weights) with the causal and padding masks."""
    return _full_scores(weights, kw, src, tgt, **mistake).detach().numpy()


def full_train(weights, kw, src, tgt, seed, dropout=None):
    """Train-mode scores right after torch.manual_seed(seed): nn.Transformer's dropout (``dropout``, default
    kw["dropout"]) is on. Computed in float32 like the student's, so both draw the very same masks."""
    return _full_scores(weights, kw, src, tgt, train_seed=seed, dropout=dropout).detach().numpy()


def full_misconceptions(weights, kw, src, tgt):
    pad = kw["pad_idx"]
    which = "" if pad == 0 else " (this model has pad_idx=%d: compare with self.pad_idx, not PAD_IDX or 0)" % pad
    with np.errstate(invalid="ignore"):
        out = {
            "no causal mask: pass tgt_mask=causal_mask(T) so a position cannot see later target tokens":
                full_forward(weights, kw, src, tgt, diagonal=None),
            "causal mask off by one: a position must see itself and earlier positions, nothing later":
                full_forward(weights, kw, src, tgt, diagonal=2),
            "source padding was attended to: pass src_key_padding_mask and memory_key_padding_mask "
            "(src == self.pad_idx)" + which:
                full_forward(weights, kw, src, tgt, src_pad=False),
            "the positional embeddings are missing: add src_pos_embedding / tgt_pos_embedding of 0..T-1":
                full_forward(weights, kw, src, tgt, positions=False),
            "the target padding mask is missing: every wrong score sits at a target padding position; pass "
            "tgt_key_padding_mask=(tgt == self.pad_idx) to self.transformer" + which:
                full_forward(weights, kw, src, tgt, tgt_pad=False),
        }
        if pad != 0:
            out["no padding is masked: this model has pad_idx=%d; build every padding mask from self.pad_idx, not "
                "from PAD_IDX or 0" % pad] = full_forward(weights, kw, src, tgt, src_pad=False, tgt_pad=False)
    return out


#: a greedy choice closer than this to a tie could go the other way in the student's float32 computation;
#: case builders redraw until every choice the checks depend on is at least this far from a tie
MARGIN = 1e-3


def full_generate(weights, kw, src, max_len, pad_after_eos=True, margin=False):
    """Greedy decoding with the oracle above: (N, L) tokens, <sos> first, <pad> after <eos>.

    margin: also return the smallest gap between the best and second-best next-token score of the
    sentences still being decoded (see ``MARGIN``)."""
    src = torch.as_tensor(src)
    N = src.shape[0]
    tokens = torch.full((N, 1), SOS, dtype=torch.long)
    done = torch.zeros(N, dtype=torch.bool)
    gap = np.inf
    with torch.no_grad():
        while tokens.shape[1] < max_len and not bool(done.all()):
            scores = _full_scores(weights, kw, src, tokens)[:, -1]
            if (~done).any():
                gap = min(gap, greedy_margin(scores[~done].numpy()))
            nxt = scores.argmax(dim=-1)
            if pad_after_eos:
                nxt = torch.where(done, torch.full_like(nxt, kw["pad_idx"]), nxt)
            tokens = torch.cat([tokens, nxt[:, None]], dim=1)
            done = done | (nxt == EOS)
    return (tokens.numpy(), gap) if margin else tokens.numpy()


def eos_biased_weights(weights, kw, src, max_len, rng=None, tries=8):
    """Weights whose greedy decoding ends the sentences at different steps, all before ``max_len``,
    with every greedy choice at least ``MARGIN`` from a tie.

    Adds a bias to the <eos> score, scanned here in the harness, so that at least two
    sentences stop at different steps and all of them stop. When no bias does it for
    these weights and ``rng`` is given, new weights are drawn (up to ``tries`` draws).
    Returns the best weights found.
    """
    best, best_key = weights, (-1, -1, -1)
    for attempt in range(tries if rng is not None else 1):
        base = weights if attempt == 0 else draw_weights(rng, full_shapes(kw))
        for bias in np.arange(0.0, 6.01, 0.2):
            w = with_bias(base, "fc.bias", EOS, float(bias))
            toks, gap = full_generate(w, kw, src, max_len, margin=True)
            ends = [int(np.argmax(row == EOS)) if (row == EOS).any() else -1 for row in toks]
            key = (int(-1 not in ends), int(gap >= MARGIN), len(set(ends)))
            if key > best_key:
                best, best_key = w, key
            if key[0] == 1 and key[1] == 1 and key[2] > 1:
                return best
            if set(ends) == {1}:        # every sentence already stops at once: more bias cannot help
                break
    return best


# ---------------------------------------------------------------- Vocabulary
def vocab_itos(sentences, min_freq):
    counts = {}
    for sent in sentences:
        for tok in sent:
            counts[tok] = counts.get(tok, 0) + 1
    kept = sorted((t for t, c in counts.items() if c >= min_freq), key=lambda t: (-counts[t], t))
    return ["<pad>", "<unk>", "<sos>", "<eos>"] + kept


def vocab_encode(itos, tokens, add_sos_eos=True):
    index = {t: i for i, t in enumerate(itos)}
    ids = [index.get(t, UNK) for t in tokens]
    return [SOS] + ids + [EOS] if add_sos_eos else ids


def vocab_decode(itos, ids):
    out = []
    for i in ids:
        if i == EOS:
            break
        if i not in (SOS, PAD):
            out.append(itos[i])
    return out
