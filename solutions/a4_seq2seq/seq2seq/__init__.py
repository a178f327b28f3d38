"""Assignment 4: sequence models, from recurrent cells to a Transformer translator.

Modules:
    rnn          VanillaRNN: one step of an Elman RNN with a log-softmax output
    lstm         LSTM: the gates written out by hand, run over a whole sequence
    encoder      Encoder: embedding, RNN/LSTM, and a projection of the last hidden state
    decoder      Decoder: one decoding step, optionally with cosine-similarity attention
    model        Seq2Seq: encoder + decoder, greedy decoding from <sos>
    transformer  TransformerTranslator (one attention block, by hand) and
                 FullTransformerTranslator (nn.Transformer with causal and padding masks)
    data         given: tokenizer, the embedded German->English corpus, Multi30k loader,
                 batching; yours: Vocabulary.encode and Vocabulary.decode
    train        given: training loop, perplexity, BLEU, example translations, attention heatmaps
"""
