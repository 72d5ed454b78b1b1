using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using HttpCache.Engine.Http;
using HttpCache.Engine.Storage;
using HttpCache.Engine.Storage.Redis;
using HttpCache.Engine.Storage.Sqlite;
using HttpCache.Testing;
using StackExchange.Redis;

namespace HttpCache.Benchmarks;

/// <summary>
/// How many entries a second the background writer stores into SQLite (the issue's target: at least 20,000), or into
/// Redis, measured without BenchmarkDotNet: what counts is the time until the last of many queued writes has landed.
/// <code>dotnet run -c Release --project tests/HttpCache.Benchmarks -- --writer-throughput [--backend Sqlite|Redis] [--entries N] [--prefill N] [--rounds N]</code>
/// Each round, on new files, interleaved: the floor (the store's own <c>SetManyAsync</c> in batches of 512, nothing
/// else running), then the writer (<see cref="WriteBehind"/>: N records queued from 4 tasks as misses would queue
/// them, timed until <c>DrainAsync</c> returns). Records look like a miss's: keys are 32 hex digits of a hash, so
/// they land all over the key's index, 1 KiB bodies, 300 bytes of metadata, 100 hosts. With <c>--prefill</c>, the
/// file holds that many entries (written the same way, untimed) before the timed writes. The CPU column is the process's
/// CPU time (user and kernel) over the timed part divided by the entries: what a write costs, whatever the machine's load.
/// <para>
/// With <c>--backend Redis</c> the run starts a <c>redis-server</c> of its own on a free loopback port (flushed between
/// figures, stopped at the end), each figure a store with a connection of its own as a session opens it, and adds a
/// third figure to each round: the writer over a store that writes a batch one entry at a time (the interface's
/// default <c>SetManyAsync</c>, what Redis did before it pipelined batches). Its CPU column also counts the server's
/// CPU, which runs on the same machine.
/// </para>
/// </summary>
internal static class WriterThroughput
{
    public const string Switch = "--writer-throughput";

    public static async Task<int> RunAsync(string[] args)
    {
        var entries = Option(args, "--entries", 100_000);
        var prefill = Option(args, "--prefill", 0);
        var rounds = Option(args, "--rounds", 3);
        var redis = string.Equals(Text(args, "--backend", "Sqlite"), "Redis", StringComparison.OrdinalIgnoreCase);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Writer throughput ({(redis ? "Redis" : "SQLite")}): {entries:N0} entries a run after {prefill:N0} prefilled, {rounds} round(s); load average {LoadAverage()}; {Environment.ProcessorCount} cores."));
        Console.WriteLine("| round | what | seconds | entries/s | CPU µs/entry (process) | load average after |");
        Console.WriteLine("|---:|---|---:|---:|---:|---|");
        var folder = Path.Combine(Path.GetTempPath(), $"httpcache-writer-{Environment.ProcessId}");
        Directory.CreateDirectory(folder);
        await using var server = redis ? await RedisServerProcess.StartDedicatedAsync().ConfigureAwait(false) : null;
        using var admin = server is null ? null : await ConnectionMultiplexer.ConnectAsync(server.Endpoint + ",allowAdmin=true").ConfigureAwait(false);
        var figures = redis ? new[] { Figure.Floor, Figure.Writer, Figure.WriterOneAtATime } : [Figure.Floor, Figure.Writer];
        var made = 0;
        ICacheStore Open() => server is null
            ? new SqliteCacheStore(Path.Combine(folder, $"s{made++}.sqlite"))
            : new RedisCacheStore(server.Endpoint, $"w{made++}");
        try
        {
            // Untimed: every path once, so the first timed run pays no JIT.
            foreach (var figure in figures)
            {
                await using var store = Open();
                await Run(figure, store, Records(5000, -1 - (int)figure)).ConfigureAwait(false);
            }

            for (var round = 1; round <= rounds; round++)
            {
                foreach (var figure in figures)
                {
                    if (admin is not null)
                    {
                        await admin.GetServers()[0].FlushAllDatabasesAsync().ConfigureAwait(false);
                    }

                    var store = Open();
                    try
                    {
                        var seed = round * 1000 + (int)figure;
                        await Floor(store, Records(prefill, seed * 7919)).ConfigureAwait(false);
                        var records = Records(entries, seed);
                        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                        var serverCpu = await ServerCpuAsync(admin).ConfigureAwait(false);
                        var clock = Stopwatch.StartNew();
                        await Run(figure, store, records).ConfigureAwait(false);
                        clock.Stop();
                        cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu + (await ServerCpuAsync(admin).ConfigureAwait(false) - serverCpu);
                        var stored = (await store.GetInventoryAsync().ConfigureAwait(false)).Entries;
                        if (stored != prefill + entries)
                        {
                            Console.Error.WriteLine($"Expected {prefill + entries} entries, the store holds {stored}.");
                            return 1;
                        }

                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"| {round} | {Name(figure)} | {clock.Elapsed.TotalSeconds:0.00} | {entries / clock.Elapsed.TotalSeconds:N0} | {cpu.TotalMicroseconds / entries:0.0} | {LoadAverage()} |"));
                    }
                    finally
                    {
                        await store.DisposeAsync().ConfigureAwait(false);
                        foreach (var file in Directory.GetFiles(folder))
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

    private enum Figure
    {
        Floor,
        Writer,
        WriterOneAtATime,
    }

    private static string Name(Figure figure) => figure switch
    {
        Figure.Floor => "floor: SetManyAsync x512",
        Figure.Writer => "WriteBehind (queued, drained)",
        _ => "WriteBehind, batches written one entry at a time",
    };

    private static Task Run(Figure figure, ICacheStore store, CacheRecord[] records) => figure switch
    {
        Figure.Floor => Floor(store, records),
        Figure.Writer => Writer(store, records),
        _ => Writer(new OneAtATime(store), records),
    };

    // The server's CPU time (user and system, INFO CPU): it shares the machine with the benchmark.
    private static async Task<TimeSpan> ServerCpuAsync(ConnectionMultiplexer? admin)
    {
        if (admin is null)
        {
            return TimeSpan.Zero;
        }

        var cpu = (await admin.GetServers()[0].InfoAsync("cpu").ConfigureAwait(false)).SelectMany(g => g).ToDictionary(p => p.Key, p => p.Value);
        return TimeSpan.FromSeconds(double.Parse(cpu["used_cpu_user"], CultureInfo.InvariantCulture) + double.Parse(cpu["used_cpu_sys"], CultureInfo.InvariantCulture));
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

    private static string Text(string[] args, string name, string fallback)
    {
        var at = Array.FindIndex(args, a => string.Equals(a, name, StringComparison.OrdinalIgnoreCase));
        return at >= 0 && at + 1 < args.Length ? args[at + 1] : fallback;
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
}

/// <summary>
/// A store whose batches are written one entry at a time (<see cref="ICacheStore"/>'s default <c>SetManyAsync</c>):
/// what a backend without a batched write of its own does, measured beside the store's own.
/// </summary>
internal sealed class OneAtATime(ICacheStore inner) : ICacheStore
{
    public string BackendName => inner.BackendName;

    public string Location => inner.Location;

    public Task<IReadOnlyList<CacheRecord>> GetVariantsAsync(string primaryKey, CancellationToken cancellationToken = default) =>
        inner.GetVariantsAsync(primaryKey, cancellationToken);

    public Task<CacheRecord?> GetAsync(string key, CancellationToken cancellationToken = default) => inner.GetAsync(key, cancellationToken);

    public Task SetAsync(CacheRecord record, CancellationToken cancellationToken = default) => inner.SetAsync(record, cancellationToken);

    public Task<int> RemoveAsync(CacheQuery query, CancellationToken cancellationToken = default) => inner.RemoveAsync(query, cancellationToken);

    public Task<bool> UpdateExpirationAsync(string key, DateTimeOffset? expiresAt, DateTimeOffset? keepUntil, CancellationToken cancellationToken = default) =>
        inner.UpdateExpirationAsync(key, expiresAt, keepUntil, cancellationToken);

    public IAsyncEnumerable<CacheRecordInfo> ListAsync(CacheQuery query, CancellationToken cancellationToken = default) => inner.ListAsync(query, cancellationToken);

    public Task<StoreInventory> GetInventoryAsync(CancellationToken cancellationToken = default) => inner.GetInventoryAsync(cancellationToken);

    public Task AddCountersAsync(IReadOnlyDictionary<string, long> deltas, CancellationToken cancellationToken = default) =>
        inner.AddCountersAsync(deltas, cancellationToken);

    public Task<IReadOnlyDictionary<string, long>> GetCountersAsync(CancellationToken cancellationToken = default) => inner.GetCountersAsync(cancellationToken);

    public Task RecordAccessAsync(IReadOnlyCollection<EntryAccess> accesses, CancellationToken cancellationToken = default) =>
        inner.RecordAccessAsync(accesses, cancellationToken);

    public Task ClearCountersAsync(CancellationToken cancellationToken = default) => inner.ClearCountersAsync(cancellationToken);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
