using HttpCache.Engine.Storage;
using StackExchange.Redis;
using HttpCache.Engine.Tests.Http;

namespace HttpCache.Engine.Tests.Storage;

/// <summary>
/// A store that opens its own connection gives the background writer a second one: commands on one connection are
/// answered in order, and a request's lookup must not wait behind a batch's pipelined writes. A store on a connection
/// the caller gave it has only that one.
/// </summary>
public abstract partial class RedisCacheStoreTestsBase
{
    [Fact]
    public async Task The_background_writers_batches_go_over_a_connection_of_their_own()
    {
        var store = OpenOwnConnection();
        var batch = Enumerable.Range(0, 12).Select(i => Record($"w{i}")).ToList();
        Assert.Empty(await store.GetVariantsAsync(batch[0].PrimaryKey));
        var before = RedisCallerThreads.Operations(store.Connection);

        await AsBackgroundWriter.SetManyAsync(store, batch);

        Assert.Equal(before, RedisCallerThreads.Operations(store.Connection));
        foreach (var record in batch)
        {
            Assert.Equal(record.Body, (await store.GetAsync(record.Key))!.Body);
        }

        // The same batch written by a request's flow goes over the store's connection.
        var direct = RedisCallerThreads.Operations(store.Connection);
        await ((ICacheStore)store).SetManyAsync(batch);
        Assert.True(RedisCallerThreads.Operations(store.Connection) - direct >= (2 * batch.Count) + 1);
    }

    [Fact]
    public async Task While_the_writers_connection_is_down_its_batches_go_over_the_stores()
    {
        // After an outage each connection reconnects on its own schedule; the store's may be back first.
        var store = OpenOwnConnection();
        await AsBackgroundWriter.SetManyAsync(store, [Record("before")]);
        var writer = Assert.IsAssignableFrom<IConnectionMultiplexer>(store.WriterConnection);
        await writer.CloseAsync();
        Assert.False(writer.IsConnected);
        var batch = Enumerable.Range(0, 6).Select(i => Record($"d{i}")).ToList();
        var before = RedisCallerThreads.Operations(store.Connection);

        await AsBackgroundWriter.SetManyAsync(store, batch);

        Assert.True(RedisCallerThreads.Operations(store.Connection) - before >= (2 * batch.Count) + 1);
        Assert.Equal(batch[^1].Body, (await store.GetAsync(batch[^1].Key))!.Body);
    }

    [Fact]
    public async Task A_store_on_a_given_connection_writes_its_background_batches_there()
    {
        var store = OpenStore();
        var batch = Enumerable.Range(0, 12).Select(i => Record($"g{i}")).ToList();
        await ((ICacheStore)store).SetManyAsync([Record("warm1"), Record("warm2")]);
        var before = RedisCallerThreads.Operations(store.Connection);

        await AsBackgroundWriter.SetManyAsync(store, batch);

        Assert.True(RedisCallerThreads.Operations(store.Connection) - before >= (2 * batch.Count) + 1);
        Assert.Equal(batch[^1].Body, (await store.GetAsync(batch[^1].Key))!.Body);
    }
}
