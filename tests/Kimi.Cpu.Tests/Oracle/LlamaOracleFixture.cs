using Kimi.Cpu.Oracle;

namespace Kimi.Cpu.Tests.Oracle;

/// <summary>The tiny llama GGUF written once per test class, and an oracle on it with llama.cpp's default settings.</summary>
public sealed class LlamaOracleFixture : IDisposable
{
    public LlamaOracleFixture()
    {
        Directory = TestTempDirectory.Create("oracle");
        ModelPath = Path.Combine(Directory, "tiny-llama.gguf");
        TinyLlamaGguf.Write(ModelPath);
        Oracle = LlamaOracle.Load(ModelPath);
    }

    public string Directory { get; }
    public string ModelPath { get; }
    public LlamaOracle Oracle { get; }

    public void Dispose()
    {
        Oracle.Dispose();
        TestTempDirectory.Delete(Directory);
    }
}
