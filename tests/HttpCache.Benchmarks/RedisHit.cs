using BenchmarkDotNet.Attributes;
using HttpCache.Engine;
using HttpCache.Engine.Storage;
using HttpCache.Engine.Storage.Redis;
using HttpCache.Testing;
using StackExchange.Redis;

namespace HttpCache.Benchmarks;

/// <summary>
/// A cache hit through the engine over Redis (a GET of a stored URL with a 1 KiB body, read whole) against
/// its floor: a raw StackExchange.Redis StringGet of the same 1 KiB value. Target: within 1.5x of the floor.
/// The server is <c>HTTPCACHE_REDIS</c> (a StackExchange.Redis configuration string; default 127.0.0.1:6390).
/// </summary>
/// <remarks>
/// Both sides make one round trip to the server. RawStringGetAsync is the floor's awaited form, shown for
/// comparison: the engine's store can only await.
/// Each run uses its own namespace and removes what it wrote.
/// </remarks>
[MemoryDiagnoser]
public class RedisHit
{
    /// <summary>The variable that names the server.</summary>
    public const string ServerVariable = "HTTPCACHE_REDIS";

    private const string DefaultServer = "127.0.0.1:6390";

    private TestOrigin? origin;
    private HttpCacheSession? session;
    private ConnectionMultiplexer? connection;
    private IDatabase database = null!;
    private RedisKey key;
    private Uri url = null!;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        var server = Environment.GetEnvironmentVariable(ServerVariable) is { Length: > 0 } configured ? configured : DefaultServer;
        try
        {
            connection = await ConnectionMultiplexer.ConnectAsync(server);
        }
        catch (RedisConnectionException ex)
        {
            throw new InvalidOperationException(
                $"RedisHit needs a Redis server at '{server}' (set {ServerVariable}; e.g. redis-server --port 6390 --save '' --appendonly no --daemonize yes).", ex);
        }

        var run = $"httpcache-bench-{Environment.ProcessId}-{Guid.NewGuid():N}";
        database = connection.GetDatabase();
        key = $"{run}:floor";
        await database.StringSetAsync(key, Fixtures.Body);
        Fixtures.Check(RawStringGet().AsSpan().SequenceEqual(Fixtures.Body), "the floor reads the 1 KiB value");

        origin = await Fixtures.StartOriginAsync();
        url = origin.Url(Fixtures.BodyPath);
        session = EngineFixture.Session(new RedisCacheStore(server, @namespace: run));
        await EngineFixture.PrestoreAsync(session, origin, url);
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        if (session is not null)
        {
            await session.RemoveEntriesAsync(new CacheQuery());
            await session.FlushAsync();
            await session.Store.ClearCountersAsync();
        }

        if (connection is not null)
        {
            await database.KeyDeleteAsync(key);
            await connection.DisposeAsync();
        }

        await EngineFixture.DisposeAsync(session, origin);
    }

    /// <summary>The floor: one GET of the 1 KiB value.</summary>
    [Benchmark(Baseline = true)]
    public byte[] RawStringGet() => (byte[])database.StringGet(key)!;

    /// <summary>The floor, awaited.</summary>
    [Benchmark]
    public async Task<byte[]> RawStringGetAsync() => (byte[])(await database.StringGetAsync(key))!;

    /// <summary>A fresh hit through HttpCacheSession over RedisCacheStore.</summary>
    [Benchmark]
    public Task<byte[]> EngineHit() => EngineFixture.GetAsync(session!, url);
}
