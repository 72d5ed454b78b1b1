using HttpCache.Engine.Storage;
using HttpCache.Engine.Storage.Redis;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace HttpCache.Engine.Tests.Storage;

/// <summary>
/// Batched writes on Redis (what the background writer hands the store), on a standalone server and a Cluster: an
/// entry that fails does not take the others with it, and TTLs are those of single writes. That a batch is pipelined
/// is shown on a server of its own (<see cref="RedisBatchPipelineTests"/>).
/// </summary>
public abstract partial class RedisCacheStoreTestsBase
{
    [Fact]
    public async Task An_entry_of_a_batch_that_fails_leaves_the_others_written_and_the_batch_says_so()
    {
        var keys = new RedisKeyLayout(Namespace);
        // A key of another kind where the entry's index belongs: writing that entry fails (WRONGTYPE), on its own slot.
        await Database.HashSetAsync(keys.Index("bad"), "not", "an index");
        var batch = Enumerable.Range(0, 10).Select(i => Record($"k{i}", primaryKey: $"{i:x32}")).ToList();
        batch.Insert(4, Record("bad", primaryKey: "B"));

        var error = await Assert.ThrowsAsync<CacheStoreException>(() => Store.SetManyAsync(batch));

        Assert.Equal(CacheStoreFailure.Corrupt, error.Failure);
        Assert.Contains("WRONGTYPE", error.Message, StringComparison.Ordinal);
        for (var i = 0; i < 10; i++)
        {
            var stored = await Store.GetAsync($"k{i}");
            Assert.NotNull(stored);
            Assert.Equal($"{i:x32}", Assert.Single(await Store.GetVariantsAsync($"{i:x32}")).PrimaryKey);
        }

        // The bookkeeping knows every entry that landed: a bound of 5 evicts them down to it.
        var bounded = OpenStore(new StoreLimits { MaxEntries = 5 });
        await bounded.SetAsync(Record("last", primaryKey: "L", createdAt: T0.AddDays(1)));
        Assert.Equal(6, (await bounded.GetCountersAsync())["evictions"]);
        Assert.NotNull(await bounded.GetAsync("last"));
    }

    [Fact]
    public async Task Several_failed_entries_of_a_batch_are_counted_in_one_error()
    {
        var keys = new RedisKeyLayout(Namespace);
        await Database.HashSetAsync(keys.Index("bad1"), "not", "an index");
        await Database.HashSetAsync(keys.Index("bad2"), "not", "an index");
        List<CacheRecord> batch = [Record("bad1"), Record("good1"), Record("bad2"), Record("good2")];

        var error = await Assert.ThrowsAsync<CacheStoreException>(() => Store.SetManyAsync(batch));

        Assert.Contains("2 of 4 writes of a batch failed", error.Message, StringComparison.Ordinal);
        Assert.Equal(CacheStoreFailure.Corrupt, error.Failure);
        Assert.NotNull(await Store.GetAsync("good1"));
        Assert.NotNull(await Store.GetAsync("good2"));
    }

    [Fact]
    public async Task A_batch_gives_its_entries_the_TTLs_one_by_one_writes_give()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var store = OpenStore(clock: clock);
        var keys = new RedisKeyLayout(Namespace);
        var now = clock.GetUtcNow();
        await store.SetAsync(Record("gone", primaryKey: "G", keepUntil: now.AddHours(1), body: "old"));

        await ((ICacheStore)store).SetManyAsync(
        [
            Record("k1", primaryKey: "P", keepUntil: now.AddHours(1)),
            Record("k2", primaryKey: "P", keepUntil: now.AddHours(3)),
            Record("k3", primaryKey: "Q"),
            // Its keep-until has passed: not kept, and the older entry of its key goes.
            Record("gone", primaryKey: "G", keepUntil: now.AddSeconds(-1), body: "new"),
        ]);

        Assert.InRange(await TtlAsync(keys.Entry("P", "k1")), 3600 - 5, 3600);
        Assert.InRange(await TtlAsync(keys.Index("k1")), 3600 - 5, 3600);
        Assert.InRange(await TtlAsync(keys.Entry("P", "k2")), (3 * 3600) - 5, 3 * 3600);
        Assert.InRange(await TtlAsync(keys.Variants("P")), (3 * 3600) - 5, 3 * 3600);
        Assert.Equal(-1, await TtlAsync(keys.Entry("Q", "k3")));
        Assert.Equal(-1, await TtlAsync(keys.Index("k3")));
        Assert.Equal(-1, await TtlAsync(keys.Variants("Q")));
        Assert.Null(await store.GetAsync("gone"));
        Assert.Empty(await store.GetVariantsAsync("G"));
        Assert.Equal(3, (await store.GetInventoryAsync()).Entries);
    }
}
