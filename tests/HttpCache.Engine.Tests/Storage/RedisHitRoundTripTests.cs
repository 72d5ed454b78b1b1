using HttpCache.Engine.Diagnostics;
using HttpCache.Engine.Policy;
using HttpCache.Engine.Storage;
using HttpCache.Engine.Storage.Redis;
using HttpCache.Testing;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace HttpCache.Engine.Tests.Storage;

/// <summary>
/// A Redis hit costs one round trip on the request path (the variants, their metadata and body in one script);
/// the hit count and last access reach the server later, in the session's batched flush.
/// </summary>
[Collection(RedisCollection.Name)]
public sealed class RedisHitRoundTripTests(RedisFixture redis, OriginFixture fixture) : IClassFixture<OriginFixture>
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    private readonly TestOrigin origin = fixture.Origin;

    [Fact]
    public async Task A_fresh_hit_is_one_operation_and_its_access_is_recorded_at_the_flush()
    {
        // A connection of its own: its operation counter then counts this session's commands only.
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Configuration + ",connectTimeout=10000");
        var store = new RedisCacheStore(connection, "t:" + Guid.NewGuid().ToString("N"), null, new FakeTimeProvider(T0));
        // The clock never moves, so no background flush runs between the counts.
        await using var session = new HttpCacheSession(store, timeProvider: new FakeTimeProvider(T0));
        var path = origin.NewPath("redis-hit");
        origin.Map(path, OriginBehaviors.MaxAge(3600));
        using (var miss = await session.Client.GetAsync(origin.Url(path)))
        {
            Assert.Equal(CacheReason.MissNoEntry, miss.GetCacheInfo()!.Reason);
        }

        await session.FlushAsync();
        var before = Operations(connection);

        using var hit = await session.Client.GetAsync(origin.Url(path));
        var during = Operations(connection) - before;

        Assert.Equal(CacheReason.FreshHit, hit.GetCacheInfo()!.Reason);
        Assert.Equal(1, origin.RequestCount(path));
        Assert.Equal(1, during);
        var key = Assert.Single(await store.ListAsync(CacheQuery.All).ToListAsync()).Key;
        Assert.Equal(0, (await store.GetAsync(key))!.HitCount);

        await session.FlushAsync();

        Assert.Equal(1, (await store.GetAsync(key))!.HitCount);
    }

    private static long Operations(IConnectionMultiplexer connection) =>
        connection.GetServers().Sum(server => server.GetCounters().Interactive.OperationCount);
}
