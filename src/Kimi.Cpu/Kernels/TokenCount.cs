namespace Kimi.Cpu.Kernels;

/// <summary>
/// How many tokens a kernel dots one weight row with at once: 1 (a dot) or 4 (a 4 × 4 tile, row by row). A kernel written
/// once over this parameter serves both, so a tile's outputs are its set's dots bit for bit; the JIT compiles each
/// instance separately and drops the other's branches.
/// </summary>
internal interface ITokenCount
{
    static abstract bool Four { get; }
}

internal readonly struct OneToken : ITokenCount
{
    public static bool Four => false;
}

internal readonly struct FourTokens : ITokenCount
{
    public static bool Four => true;
}
