using System.Globalization;
using BenchmarkDotNet.Attributes;
using HttpCache.Engine;
using HttpCache.Engine.Diagnostics;
using HttpCache.Engine.Storage;
using HttpCache.Engine.Storage.Memory;
using HttpCache.Engine.Storage.Sqlite;
using HttpCache.Testing;

namespace HttpCache.Benchmarks;

/// <summary>
/// A miss-and-store through the engine over SQLite (lookup, origin fetch, store), a new URL every invocation
/// so each is a true miss, against its floor: a plain HttpClient GET (SocketsHttpHandler) of the same origin
/// and body size, also a new URL each time. Both read the 1 KiB body whole from the loopback TestOrigin, which
/// runs in the benchmark's process (so its server-side work and allocations count on both sides alike).
/// Target: the engine at most 1.3x the plain GET.
/// </summary>
/// <remarks>
/// EngineMissMemoryStore is the same miss over the Memory store (bounded to 10,000 entries, so it also evicts):
/// the engine's own cost without SQLite's lookup and write.
/// The SQLite file grows by one row per invocation, as a cache being filled does.
/// </remarks>
[MemoryDiagnoser]
public class Miss
{
    private string? folder;
    private TestOrigin? origin;
    private HttpCacheSession? sqliteSession;
    private HttpCacheSession? memorySession;
    private HttpClient? plain;
    private string prefix = null!;
    private long next;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        folder = Fixtures.NewTempFolder("miss");
        origin = await Fixtures.StartOriginAsync();
        prefix = origin.Url(Fixtures.BodyPath).AbsoluteUri + "?n=";
        plain = new HttpClient(new SocketsHttpHandler());
        sqliteSession = EngineFixture.Session(new SqliteCacheStore(Path.Combine(folder, "cache.db")));
        // Bounded, as a long-lived memory cache would be: a run makes hundreds of thousands of misses.
        memorySession = EngineFixture.Session(new MemoryCacheStore(new StoreLimits { MaxEntries = 10_000 }));

        // Each path warmed once (connection open, JIT); and each engine request shown to be a miss that stores.
        Fixtures.Check((await PlainGet()).Length == Fixtures.BodySize, "the plain GET reads 1 KiB");
        foreach (var session in new[] { sqliteSession, memorySession })
        {
            var url = NextUrl();
            using var response = await session.SendAsync(new HttpRequestMessage(HttpMethod.Get, url));
            var body = await response.Content.ReadAsByteArrayAsync();
            var info = response.GetCacheInfo();
            Fixtures.Check(body.Length == Fixtures.BodySize && info is { FromCache: false, CacheKey: not null } && info.CreatedAt is not null,
                $"a new URL is a miss that is stored (reason {info?.Reason}, store {info?.StoreReason})");
        }
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        plain?.Dispose();
        if (memorySession is not null)
        {
            await memorySession.DisposeAsync();
        }

        await EngineFixture.DisposeAsync(sqliteSession, origin);
        Fixtures.DeleteTempFolder(folder);
    }

    /// <summary>The floor: a plain HttpClient GET of a new URL on the origin, body read whole.</summary>
    [Benchmark(Baseline = true)]
    public async Task<byte[]> PlainGet()
    {
        using var response = await plain!.GetAsync(NextUrl());
        return await response.Content.ReadAsByteArrayAsync();
    }

    /// <summary>A miss through HttpCacheSession over SqliteCacheStore: lookup, origin fetch, store.</summary>
    [Benchmark]
    public Task<byte[]> EngineMiss() => EngineFixture.GetAsync(sqliteSession!, NextUrl());

    /// <summary>The same miss over MemoryCacheStore: the engine without SQLite's lookup and write.</summary>
    [Benchmark]
    public Task<byte[]> EngineMissMemoryStore() => EngineFixture.GetAsync(memorySession!, NextUrl());

    private Uri NextUrl() => new(prefix + Interlocked.Increment(ref next).ToString(CultureInfo.InvariantCulture));
}
