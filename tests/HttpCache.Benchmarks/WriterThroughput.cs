using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using HttpCache.Engine.Http;
using HttpCache.Engine.Storage;
using HttpCache.Engine.Storage.Sqlite;

namespace HttpCache.Benchmarks;

/// <summary>
/// How many entries a second the background writer stores into SQLite (the issue's target: at least 20,000), measured
/// without BenchmarkDotNet: what counts is the time until the last of many queued writes has landed.
/// <code>dotnet run -c Release --project tests/HttpCache.Benchmarks -- --writer-throughput [--entries N] [--prefill N] [--rounds N]</code>
/// Each round, on new files, interleaved: the floor (the store's own <c>SetManyAsync</c> in batches of 512, nothing
/// else running), then the writer (<see cref="WriteBehind"/>: N records queued from 4 tasks as misses would queue
/// them, timed until <c>DrainAsync</c> returns). Records look like a miss's: keys are 32 hex digits of a hash, so
/// they land all over the key's index, 1 KiB bodies, 300 bytes of metadata, 100 hosts. With <c>--prefill</c>, the
/// file holds that many entries (written the same way, untimed) before the timed writes. The CPU column is the process's
/// CPU time (user and kernel) over the timed part divided by the entries: what a write costs, whatever the machine's load.
/// </summary>
internal static class WriterThroughput
{
    public const string Switch = "--writer-throughput";

    public static async Task<int> RunAsync(string[] args)
    {
        var entries = Option(args, "--entries", 100_000);
        var prefill = Option(args, "--prefill", 0);
        var rounds = Option(args, "--rounds", 3);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Writer throughput: {entries:N0} entries a run after {prefill:N0} prefilled, {rounds} round(s); load average {LoadAverage()}; {Environment.ProcessorCount} cores."));
        Console.WriteLine("| round | what | seconds | entries/s | CPU µs/entry (process) | load average after |");
        Console.WriteLine("|---:|---|---:|---:|---:|---|");
        var folder = Path.Combine(Path.GetTempPath(), $"httpcache-writer-{Environment.ProcessId}");
        Directory.CreateDirectory(folder);
        try
        {
            // Untimed: both paths once, so the first timed run pays no JIT.
            foreach (var writer in new[] { false, true })
            {
                var warm = Path.Combine(folder, $"warm-{writer}.sqlite");
                await using (var store = new SqliteCacheStore(warm))
                {
                    await (writer ? Writer(store, Records(5000, -1)) : Floor(store, Records(5000, -2))).ConfigureAwait(false);
                }
            }

            for (var round = 1; round <= rounds; round++)
            {
                foreach (var writer in new[] { false, true })
                {
                    var path = Path.Combine(folder, $"r{round}-{(writer ? "writer" : "floor")}.sqlite");
                    var store = new SqliteCacheStore(path);
                    try
                    {
                        var seed = round * 1000 + (writer ? 1 : 0);
                        await Floor(store, Records(prefill, seed * 7919)).ConfigureAwait(false);
                        var records = Records(entries, seed);
                        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                        var clock = Stopwatch.StartNew();
                        if (writer)
                        {
                            await Writer(store, records).ConfigureAwait(false);
                        }
                        else
                        {
                            await Floor(store, records).ConfigureAwait(false);
                        }

                        clock.Stop();
                        cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;
                        var stored = (await store.GetInventoryAsync().ConfigureAwait(false)).Entries;
                        if (stored != prefill + entries)
                        {
                            Console.Error.WriteLine($"Expected {prefill + entries} entries, the store holds {stored}.");
                            return 1;
                        }

                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"| {round} | {(writer ? "WriteBehind (queued, drained)" : "floor: SetManyAsync x512")} | {clock.Elapsed.TotalSeconds:0.00} | {entries / clock.Elapsed.TotalSeconds:N0} | {cpu.TotalMicroseconds / entries:0.0} | {LoadAverage()} |"));
                    }
                    finally
                    {
                        await store.DisposeAsync().ConfigureAwait(false);
                        foreach (var file in Directory.GetFiles(folder, Path.GetFileName(path) + "*"))
                        {
                            File.Delete(file);
                        }
                    }
                }
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }

        return 0;
    }

    private static async Task Floor(ICacheStore store, CacheRecord[] records)
    {
        for (var i = 0; i < records.Length; i += 512)
        {
            await store.SetManyAsync(records[i..Math.Min(records.Length, i + 512)]).ConfigureAwait(false);
        }
    }

    private static async Task Writer(ICacheStore store, CacheRecord[] records)
    {
        var writes = new WriteBehind(store);
        const int producers = 4;
        await Task.WhenAll(Enumerable.Range(0, producers).Select(p => Task.Run(async () =>
        {
            for (var i = p; i < records.Length; i += producers)
            {
                await writes.EnqueueAsync(records[i]).ConfigureAwait(false);
            }
        }))).ConfigureAwait(false);
        await writes.DrainAsync().ConfigureAwait(false);
        if (writes.TakeFailure() is { } failure)
        {
            throw new InvalidOperationException("A background write failed.", failure.Error);
        }

        await writes.StopAsync().ConfigureAwait(false);
    }

    private static CacheRecord[] Records(int count, int seed)
    {
        var random = new Random(seed);
        var body = new byte[1024];
        var metadata = new byte[300];
        random.NextBytes(body);
        random.NextBytes(metadata);
        var created = DateTimeOffset.UtcNow;
        var records = new CacheRecord[count];
        Span<byte> hash = stackalloc byte[32];
        for (var i = 0; i < count; i++)
        {
            var uri = string.Create(CultureInfo.InvariantCulture, $"https://host{i % 100}.example/items/{seed}/{i}");
            SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(uri), hash);
            var key = Convert.ToHexStringLower(hash[..16]);
            records[i] = new CacheRecord
            {
                Key = key,
                PrimaryKey = key,
                Method = "GET",
                Uri = uri,
                StatusCode = 200,
                CreatedAt = created.AddTicks(i),
                ExpiresAt = created.AddHours(1),
                Metadata = metadata,
                Body = body,
            };
        }

        return records;
    }

    private static int Option(string[] args, string name, int fallback)
    {
        var at = Array.FindIndex(args, a => string.Equals(a, name, StringComparison.OrdinalIgnoreCase));
        return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
}
