using System.Diagnostics;
using Kimi.Cpu.Model;
using Kimi.Cpu.Oracle;

namespace Kimi.Cpu.Benchmarks.Model;

/// <summary>
/// kimi.cpu and llama.cpp on the same GGUF in one process, one after the other: prefill tokens/s for a random prompt and
/// decode tokens/s for greedy generation, best of 3 each, after a warm-up run (the first run also pages the weights in),
/// and each engine's peak resident set (kimi.cpu's model is closed and the high-water mark reset before llama.cpp loads).
/// Run: dotnet run -c Release --project benchmarks/Kimi.Cpu.Benchmarks -- side-by-side MODEL.gguf [threads=2] [prompt=128] [generate=64]
/// (a model: `kimi-cpu synth --preset mini|k2slice ...`). Compare the two lines of one run, not runs on a busy machine.
/// </summary>
public static class SideBySide
{
    public static int Run(string[] args)
    {
        if (args.Length < 1)
        {
            Console.Error.WriteLine("usage: side-by-side MODEL.gguf [threads] [prompt tokens] [generated tokens]");
            return 2;
        }
        string path = args[0];
        int threads = args.Length > 1 ? int.Parse(args[1]) : 2;
        int promptLength = args.Length > 2 ? int.Parse(args[2]) : 128;
        int generate = args.Length > 3 ? int.Parse(args[3]) : 64;

        int[] prompt;
        double prefill = 0, decode = 0;
        PeakRss.Reset();
        using (var model = KimiModel.Load(path, new KimiModelOptions { Threads = threads }))
        {
            int vocab = model.Config.VocabSize;
            var rng = new Random(5);
            prompt = Enumerable.Range(0, promptLength).Select(_ => rng.Next(256, Math.Max(257, vocab - 256))).ToArray();
            using var context = model.CreateContext(contextLength: promptLength + generate + 8, maxSequences: 1, batchSize: promptLength);
            var logits = new float[vocab];
            for (int run = 0; run < 4; run++)
            {
                context.ClearSequence(0);
                var watch = Stopwatch.StartNew();
                context.Prefill(0, prompt, logits);
                double p = promptLength / watch.Elapsed.TotalSeconds;
                int next = ArgMax(logits);
                watch.Restart();
                for (int i = 0; i < generate; i++)
                {
                    context.Decode(0, next, logits);
                    next = ArgMax(logits);
                }
                double d = generate / watch.Elapsed.TotalSeconds;
                if (run > 0) (prefill, decode) = (Math.Max(prefill, p), Math.Max(decode, d));
            }
        }
        Console.WriteLine($"kimi.cpu:  prefill {prefill,8:F1} tok/s   decode {decode,8:F1} tok/s   {PeakRss.Describe()}   ({Path.GetFileName(path)}, {threads} threads, {promptLength}-token prompt, {generate} generated)");
        bool reset = PeakRss.Reset();

        using var llama = LlamaOracle.Load(path, new LlamaOracleOptions { Threads = threads, ContextSize = promptLength + generate + 8 });
        llama.TimePrefill(prompt);
        double lp = 0, ld = 0;
        for (int run = 0; run < 3; run++)
        {
            lp = Math.Max(lp, llama.TimePrefill(prompt));
            ld = Math.Max(ld, llama.TimeDecode(prompt, generate));
        }
        Console.WriteLine($"llama.cpp: prefill {lp,8:F1} tok/s   decode {ld,8:F1} tok/s   {PeakRss.Describe()}{(reset ? "" : " (both engines)")}   (ratio {prefill / lp:F2} / {decode / ld:F2})");
        return 0;
    }

    private static int ArgMax(float[] v)
    {
        int best = 0;
        for (int i = 1; i < v.Length; i++)
            if (v[i] > v[best]) best = i;
        return best;
    }
}
