using System.Diagnostics;
using HttpCache.Engine.Storage;
using HttpCache.Engine.Storage.Redis;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace HttpCache.Engine.Tests.Storage;

/// <summary>
/// Batched writes on Redis (what the background writer hands the store): pipelined, whichever servers of a Cluster
/// the entries live on, and an entry that fails does not take the others with it.
/// </summary>
public abstract partial class RedisCacheStoreTestsBase
{
    private static readonly TimeSpan PipelineDeadline = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task A_batch_sends_every_entry_before_any_reply_comes_back()
    {
        const int entries = 24;
        // A connection of its own, so its command counter counts this batch alone; timeouts longer than the pause.
        var store = new RedisCacheStore(Redis.Configuration + ",connectTimeout=10000,asyncTimeout=60000,syncTimeout=60000", Namespace, null, ContractClock());
        _extraStores.Add(store);
        await store.SetAsync(Record("warm-up", primaryKey: "W"));
        var primaries = Redis.Connection.GetServers().Where(s => s.IsConnected && !s.IsReplica).ToList();
        var before = RedisCallerThreads.Operations(store.Connection);

        // The barrier: every primary holds every write (scripts included) until it is unpaused.
        foreach (var primary in primaries)
        {
            await primary.ExecuteAsync("CLIENT", "PAUSE", "60000", "WRITE");
        }

        Task writing;
        long sent;
        try
        {
            writing = ((ICacheStore)store).SetManyAsync(Enumerable.Range(0, entries).Select(i => Record($"k{i}", primaryKey: $"{i:x32}")).ToList());

            // Each entry's index and entry script are sent at once, though no server has answered yet. One by one, the
            // first entry's two commands would be all there is until the servers answer.
            var watch = Stopwatch.StartNew();
            while ((sent = RedisCallerThreads.Operations(store.Connection) - before) < 2 * entries && watch.Elapsed < PipelineDeadline)
            {
                await Task.Delay(10);
            }

            Assert.False(writing.IsCompleted);
        }
        finally
        {
            foreach (var primary in primaries)
            {
                await primary.ExecuteAsync("CLIENT", "UNPAUSE");
            }
        }

        Assert.True(sent >= 2 * entries, $"{sent} commands sent before any reply, for {entries} entries");
        await writing;
        for (var i = 0; i < entries; i++)
        {
            Assert.Equal($"k{i}", Assert.Single(await store.GetVariantsAsync($"{i:x32}")).Key);
        }

        Assert.Equal(entries + 1, (await store.GetInventoryAsync()).Entries);
    }

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
