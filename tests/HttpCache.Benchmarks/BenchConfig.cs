using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;

namespace HttpCache.Benchmarks;

/// <summary>The configurations Program.cs chooses between.</summary>
internal static class BenchConfig
{
    /// <summary>The switch that selects <see cref="Quick"/>.</summary>
    public const string QuickSwitch = "--quick";

    /// <summary>BenchmarkDotNet's defaults, with allocations and the ratio to each class's floor shown.</summary>
    public static IConfig Default() => DefaultConfig.Instance
        .AddDiagnoser(MemoryDiagnoser.Default)
        .AddColumn(BaselineRatioColumn.RatioMean);

    /// <summary>A smoke check: one launch, three warm-ups, three measured iterations. Proves every benchmark runs; its figures are not for quoting.</summary>
    public static IConfig Quick() => Default()
        .AddJob(Job.ShortRun.WithId("Quick"));
}
