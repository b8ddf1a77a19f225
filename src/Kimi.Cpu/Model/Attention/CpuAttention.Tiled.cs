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
            int rows = ChunkTokens * TiledHeadGroup;
            // K tile transposed [Dk × 64], V tile [64 × Dv], Q rows [rows × Dk], scores/P [rows × 64], acc [rows × Dv], M, S, a K row
            _tiledSlotFloats = (_dk * KvTile + KvTile * _dv + rows * _dk + rows * KvTile + rows * _dv + 2 * rows + _dk + 15) & ~15;
            _tiledScratch = (float*)NativeMemory.AlignedAlloc((nuint)(4L * _tiledSlotFloats * _slots), 64);
        }
    }

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

    /// <summary>Batch tokens [t0, t1) (one sequence) × heads [h0, h0 + g): rows r = (t − t0)·g + (h − h0).</summary>
    private void TiledItem(int t0, int t1, int h0, int g, float* scratch)
    {
        int rows = (t1 - t0) * g, seq = _tokens[t0].Seq, maxPos = 0;
        float* kt = scratch, vt = kt + _dk * KvTile, qs = vt + KvTile * _dv, p = qs + rows * _dk, acc = p + rows * KvTile;
        float* M = acc + rows * _dv, S = M + rows, tmp = S + rows;
        for (int t = t0; t < t1; t++)
        {
            maxPos = Math.Max(maxPos, _tokens[t].Pos);
            for (int hi = 0; hi < g; hi++)
                Buffer.MemoryCopy(_q + ((long)t * _nHead + h0 + hi) * _dk, qs + ((long)(t - t0) * g + hi) * _dk, 4L * _dk, 4L * _dk);
        }
        new Span<float>(acc, rows * _dv).Clear();
        for (int r = 0; r < rows; r++) { M[r] = float.NegativeInfinity; S[r] = 0; }

        for (int c0 = 0; c0 <= maxPos; c0 += KvTile)
        {
            int cells = Math.Min(KvTile, maxPos + 1 - c0);
            LoadTile(seq, h0, c0, cells, kt, vt, tmp);
            new Span<float>(p, rows * KvTile).Clear();
            FloatGemm.MultiplyAdd(p, qs, kt, rows, _dk, KvTile);
            for (int r = 0; r < rows; r++)
                SoftmaxStep(p + r * KvTile, _tokens[t0 + r / g].Pos - c0, acc + (long)r * _dv, ref M[r], ref S[r]);
            FloatGemm.MultiplyAdd(acc, p, vt, rows, KvTile, _dv);
        }
        for (int r = 0; r < rows; r++)
        {
            int t = t0 + r / g, h = h0 + r % g;
            Normalize(acc + (long)r * _dv, S[r], _out + ((long)t * _nHead + h) * _dv);
        }
    }

    /// <summary>Cells [c0, c0 + cells) of the sequence as F32: K transposed into kt [Dk × 64] and V into vt [64 × Dv],
    /// both zero past the last cell. Each K row is converted whole into <paramref name="tmp"/> (Dk floats), then
    /// scattered into its column.</summary>
    private void LoadTile(int seq, int h, int c0, int cells, float* kt, float* vt, float* tmp)
    {
        for (int j = 0; j < KvTile; j++)
        {
            if (j >= cells)
            {
                for (int d = 0; d < _dk; d++) kt[d * KvTile + j] = 0;
                new Span<float>(vt + (long)j * _dv, _dv).Clear();
                continue;
            }
            RowToF32(KRow(seq, c0 + j, h), tmp, _dk);
            for (int d = 0; d < _dk; d++) kt[d * KvTile + j] = tmp[d];
            if (_vInK) Buffer.MemoryCopy(tmp, vt + (long)j * _dv, 4L * _dv, 4L * _dv);
            else RowToF32(VRow(seq, c0 + j, h), vt + (long)j * _dv, _dv);
        }
    }

    private void RowToF32(byte* row, float* dst, int n)
    {
        if (_cache.Type == GgmlType.F32) Buffer.MemoryCopy(row, dst, 4L * n, 4L * n);
        else TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(row, n), new Span<float>(dst, n));
    }

    /// <summary>
    /// One row's scores for a tile (s, 64 values; cells past <paramref name="lastCell"/> masked) become its weights p in
    /// place: ggml's step — tile maximum, rescale of acc and S when the maximum grows, p = exp(s − M), S += Σp (double).
    /// A row that sees no cell of the tile gets p = 0.
    /// </summary>
    private void SoftmaxStep(float* s, int lastCell, float* acc, ref float M, ref float S)
    {
        var row = new Span<float>(s, KvTile);
        if (lastCell < 0) { row.Clear(); return; }
        float max = float.NegativeInfinity;
        for (int j = 0; j < KvTile; j++)
        {
            float v = j <= lastCell ? s[j] * _scale : float.NegativeInfinity;
            s[j] = v;
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
        double sum = 0;
        for (int j = 0; j < KvTile; j++) sum += s[j];
        S = (float)(S + sum);
    }
}
