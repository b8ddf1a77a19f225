using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Kimi.Cpu.Gguf;
using Kimi.Cpu.Kernels;

namespace Kimi.Cpu.Model.Attention;

// llama.cpp's tiled flash attention (ggml_compute_forward_flash_attn_ext_tiled), which ggml's CPU backend runs for
// micro-batches of 64 tokens or more (GGML_FA_TILE_Q) with an F16 or F32 cache; smaller batches take the one-chunk loop
// (Flash/FlashGroup). Per query row: Q in F32 (not rounded to the cache type), the keys in tiles of 64 cells
// (GGML_FA_TILE_KV) converted to F32, scores = Q·Kᵀ (FloatGemm: one fma chain per score over Dk) times the scale, the
// causal mask as −inf; per tile the running maximum, the accumulator rescaled when it grows, p = exp(s − M), the sum
// of p in double, and acc += P·V in F32 (FloatGemm, chains over the tile's cells). A tile in which a row sees no key
// leaves that row alone. Output acc / S.
//
// Work items are (up to 4 consecutive tokens of one sequence) × (a group of heads): with MLA every head reads the same
// K row, so a group of 16 heads shares each converted tile and the item's 64 query rows make each tile a GEMM.
internal sealed unsafe partial class CpuAttention
{
    private const int TiledMinTokens = 64;  // GGML_FA_TILE_Q
    private const int KvTile = 64;          // GGML_FA_TILE_KV
    private const int ChunkTokens = 4;
    private const int SharedHeads = 16;

    private bool _tiled;
    private int[] _chunkStart = [];
    private int _chunks;
    private float* _tiledScratch;
    private int _tiledSlotFloats;

    private int TiledHeadGroup => _kHeadStride == 0 && (_vInK || _vHeadStride == 0) ? Math.Min(SharedHeads, _nHead) : 1;

    /// <summary>Whether this batch takes the tiled path (llama.cpp's rule), and if so its chunks: runs of at most
    /// <see cref="ChunkTokens"/> consecutive batch tokens of one sequence.</summary>
    private void PlanTiled(BatchToken[] tokens, int count)
    {
        _tiled = _numerics == AttentionNumerics.Flash && count >= TiledMinTokens && _cache.Type is GgmlType.F16 or GgmlType.F32;
        if (!_tiled) return;
        if (_chunkStart.Length < count + 1) _chunkStart = new int[Math.Max(count + 1, 2 * _chunkStart.Length)];
        _chunks = 0;
        for (int t = 0; t < count; t++)
            if (t == 0 || tokens[t].Seq != tokens[t - 1].Seq || t - _chunkStart[_chunks - 1] == ChunkTokens) _chunkStart[_chunks++] = t;
        _chunkStart[_chunks] = count;
        if (_tiledScratch == null)
        {
            int rows = PaddedRows(ChunkTokens * TiledHeadGroup);
            // K tile [64 × Dk], V tile [64 × Dv] (legacy layout only), Qᵀ [Dk × rows], scores ᵀ [64 × rows], P [rows × 64],
            // acc [rows × Dv], M, S
            _tiledSlotFloats = (KvTile * _dk + (_vInK ? 0 : KvTile * _dv) + _dk * rows + 2 * KvTile * rows + rows * _dv + 2 * rows + 15) & ~15;
            _tiledScratch = (float*)NativeMemory.AlignedAlloc((nuint)(4L * _tiledSlotFloats * _slots), 64);
        }
    }

    /// <summary>Query rows rounded up to 16 (FloatGemm's vector width for the score GEMM); the extra rows are zero.</summary>
    private static int PaddedRows(int rows) => (rows + 15) & ~15;

    private void ExecuteTiled(int slot)
    {
        float* scratch = _tiledScratch + (long)slot * _tiledSlotFloats;
        int g = TiledHeadGroup, groups = (_nHead + g - 1) / g, items = _chunks * groups;
        for (int i = slot; i < items; i += _slots)
        {
            int c = i / groups, h0 = i % groups * g;
            TiledItem(_chunkStart[c], _chunkStart[c + 1], h0, Math.Min(g, _nHead - h0), scratch);
        }
    }

    /// <summary>
    /// Batch tokens [t0, t1) (one sequence) × heads [h0, h0 + g): rows r = (t − t0)·g + (h − h0). Scores are computed
    /// transposed, Sᵀ = K·Qᵀ (each score the same fma chain over Dk as ggml's Q·Kᵀ: a·b = b·a), so the K tile is used
    /// as converted, row-major, and V (MLA: the first Dv values of the same rows) is read in place; only Q is transposed,
    /// once per item.
    /// </summary>
    private void TiledItem(int t0, int t1, int h0, int g, float* scratch)
    {
        int rows = (t1 - t0) * g, ld = PaddedRows(rows), seq = _tokens[t0].Seq, maxPos = 0;
        float* kr = scratch, vr = _vInK ? kr : kr + KvTile * _dk, qt = kr + KvTile * _dk + (_vInK ? 0 : KvTile * _dv), st = qt + (long)_dk * ld;
        float* p = st + KvTile * ld, acc = p + ld * KvTile, M = acc + (long)ld * _dv, S = M + ld;
        int ldv = _vInK ? _dk : _dv;
        new Span<float>(qt, _dk * ld).Clear();
        for (int t = t0; t < t1; t++)
        {
            maxPos = Math.Max(maxPos, _tokens[t].Pos);
            for (int hi = 0; hi < g; hi++)
            {
                float* q = _q + ((long)t * _nHead + h0 + hi) * _dk;
                int r = (t - t0) * g + hi;
                for (int d = 0; d < _dk; d++) qt[(long)d * ld + r] = q[d];
            }
        }
        new Span<float>(acc, rows * _dv).Clear();
        for (int r = 0; r < rows; r++) { M[r] = float.NegativeInfinity; S[r] = 0; }

        for (int c0 = 0; c0 <= maxPos; c0 += KvTile)
        {
            int cells = Math.Min(KvTile, maxPos + 1 - c0);
            LoadTile(seq, h0, c0, cells, kr, vr);
            new Span<float>(st, KvTile * ld).Clear();
            FloatGemm.MultiplyAdd(st, ld, kr, _dk, qt, ld, KvTile, _dk, ld);
            for (int r = 0; r < rows; r++)
                SoftmaxStep(st + r, ld, p + r * KvTile, _tokens[t0 + r / g].Pos - c0, acc + (long)r * _dv, ref M[r], ref S[r]);
            FloatGemm.MultiplyAdd(acc, _dv, p, KvTile, vr, ldv, rows, KvTile, _dv);
        }
        for (int r = 0; r < rows; r++)
        {
            int t = t0 + r / g, h = h0 + r % g;
            Normalize(acc + (long)r * _dv, S[r], _out + ((long)t * _nHead + h) * _dv);
        }
    }

    /// <summary>Cells [c0, c0 + cells) of the sequence as F32 rows: K into kr [64 × Dk] and, for the legacy layout, V into
    /// vr [64 × Dv] (MLA reads V inside kr); rows past the last cell are zero.</summary>
    private void LoadTile(int seq, int h, int c0, int cells, float* kr, float* vr)
    {
        for (int j = 0; j < KvTile; j++)
        {
            if (j >= cells)
            {
                new Span<float>(kr + (long)j * _dk, _dk).Clear();
                if (!_vInK) new Span<float>(vr + (long)j * _dv, _dv).Clear();
                continue;
            }
            RowToF32(KRow(seq, c0 + j, h), kr + (long)j * _dk, _dk);
            if (!_vInK) RowToF32(VRow(seq, c0 + j, h), vr + (long)j * _dv, _dv);
        }
    }

    private void RowToF32(byte* row, float* dst, int n)
    {
        if (_cache.Type == GgmlType.F32) Buffer.MemoryCopy(row, dst, 4L * n, 4L * n);
        else Fp16.ToFloat((ushort*)row, dst, n);
    }

    /// <summary>
    /// One row's scores for a tile (column <paramref name="s"/> of Sᵀ, stride <paramref name="ld"/>; cells past
    /// <paramref name="lastCell"/> masked) become its weights <paramref name="p"/> (64): ggml's step — tile maximum,
    /// rescale of acc and S when the maximum grows, p = exp(s − M), S += Σp (double). A row that sees no cell of the tile
    /// gets p = 0.
    /// </summary>
    private void SoftmaxStep(float* s, int ld, float* p, int lastCell, float* acc, ref float M, ref float S)
    {
        var row = new Span<float>(p, KvTile);
        if (lastCell < 0) { row.Clear(); return; }
        float max = float.NegativeInfinity;
        for (int j = 0; j < KvTile; j++)
        {
            float v = j <= lastCell ? s[(long)j * ld] * _scale : float.NegativeInfinity;
            p[j] = v;
            if (v > max) max = v;
        }
        if (max == float.NegativeInfinity) { row.Clear(); return; }
        float mNew = MathF.Max(M, max);
        if (mNew > M)
        {
            float ms = MathF.Exp(M - mNew);
            var a = new Span<float>(acc, _dv);
            TensorPrimitives.Multiply(a, ms, a);
            S *= ms;
        }
        M = mNew;
        TensorPrimitives.Subtract(row, mNew, row);
        TensorPrimitives.Exp(row, row);
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (int j = 0; j < KvTile; j += 4) { s0 += p[j]; s1 += p[j + 1]; s2 += p[j + 2]; s3 += p[j + 3]; }
        S = (float)(S + ((s0 + s1) + (s2 + s3)));
    }
}
