using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Kimi.Cpu.Kernels;

/// <summary>
/// Register-blocked AVX2 micro-kernels for Q4_0 and Q8_0 (activations Q8_0 with the sidecar, <see cref="ActivationFormat"/>):
/// 4 weight rows × 4 tokens per call (<c>y[4·r + t]</c>) for batches (prefill, several sequences), and the one-row,
/// one-token dots of the AVX2 kernel set. In a tile each weight block is loaded and expanded once for all four tokens and
/// each activation block once for all four rows, so a (row, token) pair costs vpmaddubsw + vpmaddwd + cvt + mul + fma per
/// block instead of a whole block dot (prefill matmuls measured 1.3× (Q8_0) to 1.5× (Q4_0) faster than pair-by-pair dots).
/// Every (row, token) pair follows the same arithmetic in the tile and in the dot — one accumulator, blocks in order, the
/// Q4_0 "−8" term Σ dw·c8 (see <see cref="DotAvx2.Q4_0Core"/>) as a separate dot of each chunk's weight scales with c8 —
/// so an output never depends on how a batch is tiled: batch and step logits are the same bits. Results equal
/// <see cref="DotScalar"/> up to float summation order. A 4-row × 1-token GEMV tile was tried and dropped: no faster from
/// RAM for Q4_0, slower for Q8_0 (four interleaved row streams instead of one).
/// Tiles take 4 row and 4 activation pointers; a caller with fewer repeats the last one.
/// </summary>
[SkipLocalsInit]
internal static unsafe class TileAvx2
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Step(Vector256<int> p, Vector256<float> scale, Vector256<float> acc) =>
        Fma.MultiplyAdd(Avx.ConvertToVector256Single(p), scale, acc);

    /// <summary>16 packed bytes → 32 nibbles (low nibbles in the lower 128 bits): broadcast, one variable shift, one and.
    /// (Constants are written inline: these kernels stackalloc, so they are compiled once, fully optimized, before the
    /// class's statics exist, and a static readonly vector would cost a class-initialization check in the loop.)</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Nibbles(byte* p) =>
        Avx2.ShiftRightLogicalVariable(Avx2.BroadcastVector128ToVector256(p).AsUInt32(), Vector256.Create(0u, 0, 0, 0, 4, 4, 4, 4)).AsByte()
        & Vector256.Create((byte)15);

    /// <summary>A weight block's fp16 scale broadcast straight from the conversion table (a load, no shuffle).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Scale(byte* block) => Vector256.Create(Fp16.TablePtr[*(ushort*)block]);

    // The Q4_0 "−8" term Σ_b dw[b]·c8[b] (c8 from the activation sidecar) is kept out of the block loop: the weight scales
    // of a chunk of blocks go to a stack buffer and are dotted with c8 afterwards, the same way in both tile shapes.
    private const int CorrChunk = 256;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float DotF32(float* x, float* y, int n)
    {
        Vector256<float> acc = default;
        int i = 0;
        for (; i + 8 <= n; i += 8) acc = Fma.MultiplyAdd(Vector256.Load(x + i), Vector256.Load(y + i), acc);
        float s = Vector256.Sum(acc);
        for (; i < n; i++) s += x[i] * y[i];
        return s;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> NibDot(Vector256<byte> nib, Vector256<sbyte> a) =>
        Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(nib, a), Vector256<short>.One);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> AbsDot(Vector256<byte> absW, Vector256<sbyte> w, Vector256<sbyte> a) =>
        Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(absW, Avx2.Sign(a, w)), Vector256<short>.One);

    public static void Q4_0x4x4(byte** w, byte** a, int n, float* y)
    {
        int nb = n / 32;
        float* dws = stackalloc float[4 * CorrChunk];
        float* c = stackalloc float[16];
        new Span<float>(c, 16).Clear();
        byte* w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3];
        byte* a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3];
        float* d0 = ActivationFormat.Q8_0Scales(a0, nb), d1 = ActivationFormat.Q8_0Scales(a1, nb);
        float* d2 = ActivationFormat.Q8_0Scales(a2, nb), d3 = ActivationFormat.Q8_0Scales(a3, nb);
        Vector256<float> s00 = default, s01 = default, s02 = default, s03 = default, s10 = default, s11 = default, s12 = default, s13 = default;
        Vector256<float> s20 = default, s21 = default, s22 = default, s23 = default, s30 = default, s31 = default, s32 = default, s33 = default;
        for (int b0 = 0; b0 < nb; b0 += CorrChunk)
        {
            int b1 = Math.Min(nb, b0 + CorrChunk);
            for (int b = b0; b < b1; b++, w0 += 18, w1 += 18, w2 += 18, w3 += 18, a0 += 34, a1 += 34, a2 += 34, a3 += 34)
            {
                Vector256<sbyte> q0 = Vector256.Load((sbyte*)(a0 + 2)), q1 = Vector256.Load((sbyte*)(a1 + 2));
                Vector256<sbyte> q2 = Vector256.Load((sbyte*)(a2 + 2)), q3 = Vector256.Load((sbyte*)(a3 + 2));
                Vector256<float> e0 = Vector256.Create(d0[b]), e1 = Vector256.Create(d1[b]), e2 = Vector256.Create(d2[b]), e3 = Vector256.Create(d3[b]);
                int k = b - b0;

                Vector256<float> dw = Scale(w0);
                dws[k] = dw.ToScalar();
                Vector256<byte> x = Nibbles(w0 + 2);
                s00 = Step(NibDot(x, q0), dw * e0, s00); s01 = Step(NibDot(x, q1), dw * e1, s01);
                s02 = Step(NibDot(x, q2), dw * e2, s02); s03 = Step(NibDot(x, q3), dw * e3, s03);

                dw = Scale(w1);
                dws[CorrChunk + k] = dw.ToScalar();
                x = Nibbles(w1 + 2);
                s10 = Step(NibDot(x, q0), dw * e0, s10); s11 = Step(NibDot(x, q1), dw * e1, s11);
                s12 = Step(NibDot(x, q2), dw * e2, s12); s13 = Step(NibDot(x, q3), dw * e3, s13);

                dw = Scale(w2);
                dws[2 * CorrChunk + k] = dw.ToScalar();
                x = Nibbles(w2 + 2);
                s20 = Step(NibDot(x, q0), dw * e0, s20); s21 = Step(NibDot(x, q1), dw * e1, s21);
                s22 = Step(NibDot(x, q2), dw * e2, s22); s23 = Step(NibDot(x, q3), dw * e3, s23);

                dw = Scale(w3);
                dws[3 * CorrChunk + k] = dw.ToScalar();
                x = Nibbles(w3 + 2);
                s30 = Step(NibDot(x, q0), dw * e0, s30); s31 = Step(NibDot(x, q1), dw * e1, s31);
                s32 = Step(NibDot(x, q2), dw * e2, s32); s33 = Step(NibDot(x, q3), dw * e3, s33);
            }
            for (int r = 0; r < 4; r++)
            {
                c[4 * r] += DotF32(dws + r * CorrChunk, d0 + nb + b0, b1 - b0);
                c[4 * r + 1] += DotF32(dws + r * CorrChunk, d1 + nb + b0, b1 - b0);
                c[4 * r + 2] += DotF32(dws + r * CorrChunk, d2 + nb + b0, b1 - b0);
                c[4 * r + 3] += DotF32(dws + r * CorrChunk, d3 + nb + b0, b1 - b0);
            }
        }
        y[0] = Vector256.Sum(s00) - c[0]; y[1] = Vector256.Sum(s01) - c[1]; y[2] = Vector256.Sum(s02) - c[2]; y[3] = Vector256.Sum(s03) - c[3];
        y[4] = Vector256.Sum(s10) - c[4]; y[5] = Vector256.Sum(s11) - c[5]; y[6] = Vector256.Sum(s12) - c[6]; y[7] = Vector256.Sum(s13) - c[7];
        y[8] = Vector256.Sum(s20) - c[8]; y[9] = Vector256.Sum(s21) - c[9]; y[10] = Vector256.Sum(s22) - c[10]; y[11] = Vector256.Sum(s23) - c[11];
        y[12] = Vector256.Sum(s30) - c[12]; y[13] = Vector256.Sum(s31) - c[13]; y[14] = Vector256.Sum(s32) - c[14]; y[15] = Vector256.Sum(s33) - c[15];
    }

    /// <summary>One Q4_0 row · one activation with exactly the per-pair arithmetic of <see cref="Q4_0x4x4"/> (the dot the
    /// AVX2 kernel set uses, so GEMV, leftover tokens and tiles agree to the bit: logits never depend on batch
    /// composition). One accumulator: the fma chain allows a block per 4 cycles, about what the block work costs anyway.</summary>
    public static float Q4_0(byte* w, byte* a, int n)
    {
        int nb = n / 32;
        float* dws = stackalloc float[CorrChunk];
        float* d = ActivationFormat.Q8_0Scales(a, nb);
        Vector256<float> s = default;
        float c = 0;
        for (int b0 = 0; b0 < nb; b0 += CorrChunk)
        {
            int b1 = Math.Min(nb, b0 + CorrChunk);
            for (int b = b0; b < b1; b++, w += 18, a += 34)
            {
                Vector256<float> dw = Scale(w);
                dws[b - b0] = dw.ToScalar();
                s = Step(NibDot(Nibbles(w + 2), Vector256.Load((sbyte*)(a + 2))), dw * Vector256.Create(d[b]), s);
            }
            c += DotF32(dws, d + nb + b0, b1 - b0);
        }
        return Vector256.Sum(s) - c;
    }

    /// <summary>One Q8_0 row · one activation with the per-pair arithmetic of <see cref="Q8_0x4x4"/> (see <see cref="Q4_0"/>).</summary>
    public static float Q8_0(byte* w, byte* a, int n)
    {
        int nb = n / 32;
        float* d = ActivationFormat.Q8_0Scales(a, nb);
        Vector256<float> s = default;
        for (int b = 0; b < nb; b++, w += 34, a += 34)
        {
            Vector256<sbyte> x = Vector256.Load((sbyte*)(w + 2));
            s = Step(AbsDot(Avx2.Abs(x), x, Vector256.Load((sbyte*)(a + 2))), Scale(w) * Vector256.Create(d[b]), s);
        }
        return Vector256.Sum(s);
    }

    public static void Q8_0x4x4(byte** w, byte** a, int n, float* y)
    {
        int nb = n / 32;
        byte* w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3];
        byte* a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3];
        float* d0 = ActivationFormat.Q8_0Scales(a0, nb), d1 = ActivationFormat.Q8_0Scales(a1, nb);
        float* d2 = ActivationFormat.Q8_0Scales(a2, nb), d3 = ActivationFormat.Q8_0Scales(a3, nb);
        Vector256<float> s00 = default, s01 = default, s02 = default, s03 = default, s10 = default, s11 = default, s12 = default, s13 = default;
        Vector256<float> s20 = default, s21 = default, s22 = default, s23 = default, s30 = default, s31 = default, s32 = default, s33 = default;
        for (int b = 0; b < nb; b++, w0 += 34, w1 += 34, w2 += 34, w3 += 34, a0 += 34, a1 += 34, a2 += 34, a3 += 34)
        {
            Vector256<sbyte> q0 = Vector256.Load((sbyte*)(a0 + 2)), q1 = Vector256.Load((sbyte*)(a1 + 2));
            Vector256<sbyte> q2 = Vector256.Load((sbyte*)(a2 + 2)), q3 = Vector256.Load((sbyte*)(a3 + 2));
            Vector256<float> e0 = Vector256.Create(d0[b]), e1 = Vector256.Create(d1[b]), e2 = Vector256.Create(d2[b]), e3 = Vector256.Create(d3[b]);

            Vector256<float> dw = Scale(w0);
            Vector256<sbyte> x = Vector256.Load((sbyte*)(w0 + 2));
            Vector256<byte> ax = Avx2.Abs(x);
            s00 = Step(AbsDot(ax, x, q0), dw * e0, s00); s01 = Step(AbsDot(ax, x, q1), dw * e1, s01);
            s02 = Step(AbsDot(ax, x, q2), dw * e2, s02); s03 = Step(AbsDot(ax, x, q3), dw * e3, s03);

            dw = Scale(w1);
            x = Vector256.Load((sbyte*)(w1 + 2));
            ax = Avx2.Abs(x);
            s10 = Step(AbsDot(ax, x, q0), dw * e0, s10); s11 = Step(AbsDot(ax, x, q1), dw * e1, s11);
            s12 = Step(AbsDot(ax, x, q2), dw * e2, s12); s13 = Step(AbsDot(ax, x, q3), dw * e3, s13);

            dw = Scale(w2);
            x = Vector256.Load((sbyte*)(w2 + 2));
            ax = Avx2.Abs(x);
            s20 = Step(AbsDot(ax, x, q0), dw * e0, s20); s21 = Step(AbsDot(ax, x, q1), dw * e1, s21);
            s22 = Step(AbsDot(ax, x, q2), dw * e2, s22); s23 = Step(AbsDot(ax, x, q3), dw * e3, s23);

            dw = Scale(w3);
            x = Vector256.Load((sbyte*)(w3 + 2));
            ax = Avx2.Abs(x);
            s30 = Step(AbsDot(ax, x, q0), dw * e0, s30); s31 = Step(AbsDot(ax, x, q1), dw * e1, s31);
            s32 = Step(AbsDot(ax, x, q2), dw * e2, s32); s33 = Step(AbsDot(ax, x, q3), dw * e3, s33);
        }
        y[0] = Vector256.Sum(s00); y[1] = Vector256.Sum(s01); y[2] = Vector256.Sum(s02); y[3] = Vector256.Sum(s03);
        y[4] = Vector256.Sum(s10); y[5] = Vector256.Sum(s11); y[6] = Vector256.Sum(s12); y[7] = Vector256.Sum(s13);
        y[8] = Vector256.Sum(s20); y[9] = Vector256.Sum(s21); y[10] = Vector256.Sum(s22); y[11] = Vector256.Sum(s23);
        y[12] = Vector256.Sum(s30); y[13] = Vector256.Sum(s31); y[14] = Vector256.Sum(s32); y[15] = Vector256.Sum(s33);
    }

}
