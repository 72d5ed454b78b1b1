using HttpCache.Engine.Diagnostics;
using HttpCache.Engine.Policy;
using HttpCache.Engine.Storage.Redis;
using HttpCache.Testing;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace HttpCache.Engine.Tests.Storage;

/// <summary>
/// A session used the way a cmdlet uses it, blocking on each request from a thread of its own: a fresh Redis hit
/// is answered on that thread (the task is complete when SendAsync returns, nothing left for the thread pool to
/// finish) and is still one operation on the connection.
/// </summary>
[Collection(RedisCollection.Name)]
public sealed class RedisHitOnCallersThreadTests(RedisFixture redis, OriginFixture fixture) : IClassFixture<OriginFixture>
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    private readonly TestOrigin origin = fixture.Origin;

    [Fact]
    public async Task A_fresh_hit_from_a_thread_of_its_own_is_answered_on_that_thread_in_one_operation()
    {
        // A connection of its own: its operation counter then counts this session's commands only.
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Configuration + ",connectTimeout=10000");
        var store = new RedisCacheStore(connection, "t:" + Guid.NewGuid().ToString("N"), null, new FakeTimeProvider(T0));
        // The clock never moves, so no background flush runs between the counts.
        await using var session = new HttpCacheSession(store, timeProvider: new FakeTimeProvider(T0));
        var path = origin.NewPath("redis-hit-own-thread");
        origin.Map(path, OriginBehaviors.MaxAge(3600));
        using (var miss = await session.SendAsync(new HttpRequestMessage(HttpMethod.Get, origin.Url(path))))
        {
            Assert.Equal(CacheReason.MissNoEntry, miss.GetCacheInfo()!.Reason);
        }

        await session.FlushAsync();
        var before = Operations(connection);

        var (completed, reason) = OnThreadOfItsOwn(() =>
        {
            var sending = session.SendAsync(new HttpRequestMessage(HttpMethod.Get, origin.Url(path)));
            var wasCompleted = sending.IsCompleted;
            using var hit = sending.GetAwaiter().GetResult();
            return (wasCompleted, hit.GetCacheInfo()!.Reason);
        });

        Assert.Equal(CacheReason.FreshHit, reason);
        Assert.True(completed, "The hit should be answered on the calling thread, not finished by the thread pool.");
        Assert.Equal(1, Operations(connection) - before);
        Assert.Equal(1, origin.RequestCount(path));
    }

    private static long Operations(IConnectionMultiplexer connection) =>
        connection.GetServers().Sum(server => server.GetCounters().Interactive.OperationCount);

    // A new thread: not the thread pool's, and no synchronization context (threads do not inherit one).
    private static T OnThreadOfItsOwn<T>(Func<T> body)
    {
        T result = default!;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                result = body();
            }
            catch (Exception ex)
            {
                failure = ex;
            }
        });
        thread.Start();
        thread.Join();
        if (failure is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }

        return result;
    }
}
