using HttpCache.Engine.Storage;

namespace HttpCache.Engine.Tests.Storage;

/// <summary>
/// The limits' bookkeeping of a batch (sizes, LRU order, keep-until, the byte total) lives on one slot, so a batch
/// records it in one script call rather than one per entry, on a standalone server and a Cluster alike.
/// </summary>
public abstract partial class RedisCacheStoreTestsBase
{
    [Fact]
    public async Task A_batchs_bookkeeping_is_one_script_call_for_all_its_entries()
    {
        const int entries = 12;
        var store = OpenStore();
        // The scripts reach every server first, so the count below holds the batch's own commands only.
        await ((ICacheStore)store).SetManyAsync(Enumerable.Range(0, entries).Select(i => Record($"warm{i}")).ToList());
        var before = RedisCallerThreads.Operations(store.Connection);

        await ((ICacheStore)store).SetManyAsync(Enumerable.Range(0, entries).Select(i => Record($"k{i}")).ToList());

        // Per entry its index (SET … GET) and its entry script; then one bookkeeping call. One each would be 3 per entry.
        Assert.Equal((2 * entries) + 1, RedisCallerThreads.Operations(store.Connection) - before);
        Assert.Equal(2 * entries, (await store.GetInventoryAsync()).Entries);
    }

    [Fact]
    public async Task A_batch_recorded_in_one_call_keeps_the_bounds_and_its_last_entry()
    {
        var store = OpenStore(new StoreLimits { MaxEntries = 5 });
        var batch = Enumerable.Range(0, 12).Select(i => Record($"k{i:x2}", createdAt: T0.AddMinutes(i))).ToList();

        await ((ICacheStore)store).SetManyAsync(batch);

        var left = (await ToListAsync(store.ListAsync(CacheQuery.All))).Select(i => i.Key).Order(StringComparer.Ordinal).ToList();
        // The least recently used go; the byte total the call kept is what the entries weigh.
        Assert.Equal(["k07", "k08", "k09", "k0a", "k0b"], left);
        Assert.Equal(7, (await store.GetCountersAsync())["evictions"]);
        var bytes = (long)await Database.StringGetAsync(new Engine.Storage.Redis.RedisKeyLayout(Namespace).Bytes);
        Assert.Equal(batch.Skip(7).Sum(r => (long)r.Metadata.Length + r.Body.Length), bytes);
    }
}
