using Kimi.Cpu.Model.Attention;
using Kimi.Cpu.Model.Ops;

namespace Kimi.Cpu.Model;

/// <summary>
/// An inference session over a <see cref="KimiModel"/>: a KV cache for up to <see cref="MaxSequences"/> independent
/// sequences of up to <see cref="ContextLength"/> positions each, and the activation buffers of one forward step of
/// up to <see cref="BatchSize"/> tokens. Everything is allocated when the context is created. Not thread-safe; use one
/// context per thread (contexts of one model share its weights and thread pool).
/// </summary>
public sealed unsafe class KimiContext : IDisposable
{
    private readonly KimiModel _model;
    private readonly KvCache _cache;
    private readonly CpuAttention _attention;
    private readonly KernelMatMul _matmul;
    private readonly ForwardPass _pass;
    private readonly int[] _length;
    private readonly BatchToken[] _batch;
    private readonly int[] _ids;
    private readonly int[] _outIdx;
    private bool _disposed;

    internal KimiContext(KimiModel model, int contextLength, int maxSequences, int batchSize)
    {
        var c = model.Config;
        var o = model.Options;
        if (contextLength < 1 || contextLength > c.ContextLengthTrain)
            throw new ArgumentOutOfRangeException(nameof(contextLength), $"context length {contextLength} must be 1..{c.ContextLengthTrain} (the model's trained context)");
        if (maxSequences < 1) throw new ArgumentOutOfRangeException(nameof(maxSequences), "at least one sequence");
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), "batch size must be positive");
        _model = model;
        ContextLength = contextLength;
        MaxSequences = maxSequences;
        BatchSize = batchSize;

        int nh = c.HeadCount;
        if (c.IsMla)
        {
            _cache = new KvCache(o.KvCacheType, maxSequences, c.LayerCount, contextLength, c.MlaCacheRow, 0);
            _attention = new CpuAttention(_cache, nh, c.MlaCacheRow, c.KvLoraRank, 0, 0, c.KqScale, o.Attention, model.Pool);
        }
        else
        {
            _cache = new KvCache(o.KvCacheType, maxSequences, c.LayerCount, contextLength, nh * c.KeyLengthMla, nh * c.VHeadDim);
            _attention = new CpuAttention(_cache, nh, c.KeyLengthMla, c.VHeadDim, c.KeyLengthMla, c.VHeadDim, c.KqScale, o.Attention, model.Pool);
        }
        long perToken = Math.Max(Math.Max(model.Weights.MaxCols, (long)nh * Math.Max(c.KvLoraRank, c.QkNopeDim)),
            (long)c.ExpertUsedCount * c.ExpertFeedForwardLength); // the routed experts' down input: one row per (token, slot)
        _matmul = new KernelMatMul(perToken, batchSize, model.Pool, model.Kernels);
        _pass = new ForwardPass(c, model.Weights, _matmul, _attention, batchSize, model.Pool);
        _length = new int[maxSequences];
        _batch = new BatchToken[batchSize];
        _ids = new int[batchSize];
        _outIdx = new int[batchSize];
    }

    public KimiModel Model => _model;
    public int VocabSize => _model.Config.VocabSize;
    public int ContextLength { get; }
    public int MaxSequences { get; }
    /// <summary>Most tokens per forward step.</summary>
    public int BatchSize { get; }
    /// <summary>Bytes held by the KV cache.</summary>
    public long KvCacheBytes => _cache.Bytes;

    /// <summary>Tokens already in sequence <paramref name="sequence"/>'s cache (= the next token's position).</summary>
    public int SequenceLength(int sequence) => _length[CheckSeq(sequence)];

    /// <summary>Forgets sequence <paramref name="sequence"/>; its next token starts at position 0.</summary>
    public void ClearSequence(int sequence) => _length[CheckSeq(sequence)] = 0;

    /// <summary>
    /// Appends <paramref name="tokens"/> to a sequence, processing up to <see cref="BatchSize"/> tokens per step.
    /// With <paramref name="allPositions"/> false, <paramref name="logits"/> (vocab floats) receives the last token's
    /// logits; with true, it must hold tokens.Length × vocab floats and receives every position's logits in order.
    /// </summary>
    public void Prefill(int sequence, ReadOnlySpan<int> tokens, Span<float> logits, bool allPositions = false)
    {
        CheckSeq(sequence);
        int n = tokens.Length, vocab = VocabSize;
        if (n == 0) throw new ArgumentException("no tokens to prefill", nameof(tokens));
        long need = allPositions ? (long)n * vocab : vocab;
        if (logits.Length < need) throw new ArgumentException($"logits holds {logits.Length} floats, {need} needed", nameof(logits));
        if (_length[sequence] + n > ContextLength)
            throw new InvalidOperationException($"sequence {sequence}: {_length[sequence]} + {n} tokens exceed the context of {ContextLength}");
        CheckTokens(tokens);
        fixed (float* lp = logits)
        {
            for (int start = 0; start < n; start += BatchSize)
            {
                int cnt = Math.Min(BatchSize, n - start);
                for (int i = 0; i < cnt; i++)
                {
                    _batch[i] = new BatchToken(sequence, _length[sequence] + i);
                    _ids[i] = tokens[start + i];
                }
                int outs = 0;
                float* dst = lp;
                if (allPositions)
                {
                    for (int i = 0; i < cnt; i++) _outIdx[outs++] = i;
                    dst = lp + (long)start * vocab;
                }
                else if (start + cnt == n) _outIdx[outs++] = cnt - 1;
                _pass.Run(_batch, _ids, cnt, _outIdx, outs, dst);
                _length[sequence] += cnt;
            }
        }
    }

    /// <summary>
    /// One forward step over tokens of any sequences: token i is appended to sequence <c>sequences[i]</c> (a sequence
    /// may appear several times; its tokens take consecutive positions in the order given), and row i of
    /// <paramref name="logits"/> (sequences.Length × vocab floats) receives token i's logits. At most
    /// <see cref="BatchSize"/> tokens. Use it to decode one token for each of several sequences, or to prefill several
    /// prompts together.
    /// </summary>
    public void Decode(ReadOnlySpan<int> sequences, ReadOnlySpan<int> tokens, Span<float> logits)
    {
        int n = tokens.Length, vocab = VocabSize;
        if (n == 0 || sequences.Length != n) throw new ArgumentException($"{sequences.Length} sequence ids for {n} tokens");
        if (n > BatchSize) throw new ArgumentException($"{n} tokens exceed the batch size {BatchSize}");
        if (logits.Length < (long)n * vocab) throw new ArgumentException($"logits holds {logits.Length} floats, {(long)n * vocab} needed", nameof(logits));
        CheckTokens(tokens);
        for (int i = 0; i < n; i++)
        {
            int s = CheckSeq(sequences[i]);
            int pos = _length[s];
            for (int j = 0; j < i; j++) if (sequences[j] == s) pos++;
            if (pos >= ContextLength) throw new InvalidOperationException($"sequence {s} is full ({ContextLength} positions)");
            _batch[i] = new BatchToken(s, pos);
            _ids[i] = tokens[i];
            _outIdx[i] = i;
        }
        fixed (float* lp = logits) _pass.Run(_batch, _ids, n, _outIdx, n, lp);
        for (int i = 0; i < n; i++) _length[sequences[i]]++;
    }

    /// <summary>One token for one sequence; <paramref name="logits"/> receives vocab floats.</summary>
    public void Decode(int sequence, int token, Span<float> logits) => Decode([sequence], [token], logits);

    private int CheckSeq(int s)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if ((uint)s >= (uint)MaxSequences) throw new ArgumentOutOfRangeException(nameof(s), $"sequence {s} (context holds {MaxSequences})");
        return s;
    }

    private void CheckTokens(ReadOnlySpan<int> tokens)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        foreach (int t in tokens)
            if ((uint)t >= (uint)VocabSize) throw new ArgumentOutOfRangeException(nameof(tokens), $"token id {t} outside the vocabulary of {VocabSize}");
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _pass.Dispose();
        _matmul.Dispose();
        _attention.Dispose();
        _cache.Dispose();
    }
}
