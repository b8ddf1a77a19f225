using Kimi.Cpu.Gguf;

namespace Kimi.Cpu.Quants;

/// <summary>
/// Streams one tensor into a <see cref="GgufWriter"/>: rows are produced as floats, quantized in parallel in chunks of a
/// few megabytes, and written in order, so tensors of any size pass through bounded memory.
/// </summary>
public static class RowQuantizer
{
    /// <summary>Fills <paramref name="row"/> (length = columns) with the values of row <paramref name="index"/>.</summary>
    public delegate void RowSource(long index, Span<float> row);

    /// <summary>Quantizes <paramref name="rows"/> rows of <paramref name="columns"/> values from <paramref name="source"/> to
    /// <paramref name="type"/> on <paramref name="threads"/> threads and writes them to <paramref name="w"/> in order;
    /// <paramref name="importance"/> (per column) is for the types that need one (<see cref="Quantizer.RequiresImportance"/>).</summary>
    public static void Write(GgufWriter w, GgmlType type, int columns, long rows, RowSource source, int threads, float[]? importance = null)
    {
        int rowBytes = checked((int)GgmlTypeInfo.RowBytes(type, columns));
        int chunkRows = (int)Math.Clamp((8L << 20) / Math.Max(1, rowBytes), 1, Math.Max(1, rows));
        var buffer = new byte[(long)chunkRows * rowBytes];
        var po = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, threads) };
        for (long first = 0; first < rows; first += chunkRows)
        {
            int count = (int)Math.Min(chunkRows, rows - first);
            long firstRow = first;
            Parallel.For(0, count, po, () => new float[columns], (i, _, row) =>
            {
                source(firstRow + i, row);
                Quantizer.QuantizeRow(type, row, buffer.AsSpan(i * rowBytes, rowBytes), importance);
                return row;
            }, _ => { });
            w.WriteTensorData(buffer.AsSpan(0, count * rowBytes));
        }
    }
}
