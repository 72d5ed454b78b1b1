using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using HttpCache.Benchmarks;

// Run by hand, never in CI:
//   dotnet run -c Release --project tests/HttpCache.Benchmarks -- --filter '*'
//   dotnet run -c Release --project tests/HttpCache.Benchmarks -- --filter '*' --quick   (a smoke check: short iteration counts)
// Every other argument is BenchmarkDotNet's own (--filter, --job, --list flat, --exporters …).
//   dotnet run -c Release --project tests/HttpCache.Benchmarks -- --large-body   (peak memory while caching 1 GiB; see LargeBodyMemory)
//   dotnet run -c Release --project tests/HttpCache.Benchmarks -- --writer-throughput   (entries/s the background writer stores; see WriterThroughput)
//   dotnet run -c Release --project tests/HttpCache.Benchmarks -- --checksum-cost   (a body check in fresh processes; see ChecksumCost)
if (args.Contains(ChecksumCost.Switch, StringComparer.OrdinalIgnoreCase))
{
    Environment.ExitCode = ChecksumCost.Run(args);
    return;
}

if (args.Contains(WriterThroughput.Switch, StringComparer.OrdinalIgnoreCase))
{
    Environment.ExitCode = await WriterThroughput.RunAsync(args);
    return;
}

if (args.Contains(LargeBodyMemory.Switch, StringComparer.OrdinalIgnoreCase))
{
    Environment.ExitCode = await LargeBodyMemory.RunAsync(args);
    return;
}

var quick = args.Contains(BenchConfig.QuickSwitch, StringComparer.OrdinalIgnoreCase);
var rest = args.Where(a => !string.Equals(a, BenchConfig.QuickSwitch, StringComparison.OrdinalIgnoreCase)).ToArray();
IConfig config = quick ? BenchConfig.Quick() : BenchConfig.Default();
BenchmarkSwitcher.FromAssembly(typeof(BenchConfig).Assembly).Run(rest, config);
