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
/// the hit count and last access reach the server later, in the session's batched flush. Used the way a cmdlet
/// uses it, blocking from a thread of its own, a fresh hit is answered on that thread (the task is complete when
/// SendAsync returns, nothing left for the thread pool to finish).
/// </summary>
[Collection(RedisCollection.Name)]
public sealed class RedisHitRoundTripTests(RedisFixture redis, OriginFixture fixture) : IClassFixture<OriginFixture>
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    private readonly TestOrigin origin = fixture.Origin;

    [Fact]
    public async Task A_fresh_hit_is_one_operation_and_its_access_is_recorded_at_the_flush()
    {
        await using var stored = await StoredAsync("redis-hit");
        var before = RedisCallerThreads.Operations(stored.Connection);

        using var hit = await stored.Session.Client.GetAsync(stored.Url);
        var during = RedisCallerThreads.Operations(stored.Connection) - before;

        Assert.Equal(CacheReason.FreshHit, hit.GetCacheInfo()!.Reason);
        Assert.Equal(1, origin.RequestCount(stored.Path));
        Assert.Equal(1, during);
        var key = Assert.Single(await stored.Store.ListAsync(CacheQuery.All).ToListAsync()).Key;
        Assert.Equal(0, (await stored.Store.GetAsync(key))!.HitCount);

        await stored.Session.FlushAsync();

        Assert.Equal(1, (await stored.Store.GetAsync(key))!.HitCount);
    }

    [Fact]
    public async Task A_fresh_hit_from_a_thread_of_its_own_is_answered_on_that_thread_in_one_operation()
    {
        await using var stored = await StoredAsync("redis-hit-own-thread");
        var before = RedisCallerThreads.Operations(stored.Connection);

        var (completed, reason) = RedisCallerThreads.OnThreadOfItsOwn(() =>
        {
            var sending = stored.Session.SendAsync(new HttpRequestMessage(HttpMethod.Get, stored.Url));
            var wasCompleted = sending.IsCompleted;
            using var hit = sending.GetAwaiter().GetResult();
            return (wasCompleted, hit.GetCacheInfo()!.Reason);
        });

        Assert.Equal(CacheReason.FreshHit, reason);
        Assert.True(completed, "The hit should be answered on the calling thread, not finished by the thread pool.");
        Assert.Equal(1, RedisCallerThreads.Operations(stored.Connection) - before);
        Assert.Equal(1, origin.RequestCount(stored.Path));
    }

    /// <summary>A session over a connection of its own (its operation counter then counts this session's commands only), with one answer stored and flushed.</summary>
    private async Task<StoredAnswer> StoredAsync(string name)
    {
        var connection = await ConnectionMultiplexer.ConnectAsync(redis.Configuration + ",connectTimeout=10000");
        var store = new RedisCacheStore(connection, "t:" + Guid.NewGuid().ToString("N"), null, new FakeTimeProvider(T0));
        // The clock never moves, so no background flush runs between the counts.
        var session = new HttpCacheSession(store, timeProvider: new FakeTimeProvider(T0));
        var path = origin.NewPath(name);
        origin.Map(path, OriginBehaviors.MaxAge(3600));
        using (var miss = await session.SendAsync(new HttpRequestMessage(HttpMethod.Get, origin.Url(path))))
        {
            Assert.Equal(CacheReason.MissNoEntry, miss.GetCacheInfo()!.Reason);
        }

        await session.FlushAsync();
        return new StoredAnswer(connection, store, session, path, origin.Url(path));
    }

    private sealed record StoredAnswer(ConnectionMultiplexer Connection, RedisCacheStore Store, HttpCacheSession Session, string Path, Uri Url) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Session.DisposeAsync();
            await Connection.DisposeAsync();
        }
    }
}
