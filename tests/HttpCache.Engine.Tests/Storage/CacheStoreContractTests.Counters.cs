using HttpCache.Engine.Storage;

namespace HttpCache.Engine.Tests.Storage;

/// <summary>The <see cref="ICacheStore"/> contract: the statistics a store persists, and access recording.</summary>
public abstract partial class CacheStoreContractTests
{
    [Fact]
    public async Task Counters_start_at_zero_and_accumulate()
    {
        Assert.Empty(await Store.GetCountersAsync());

        await Store.AddCountersAsync(new Dictionary<string, long> { ["hits"] = 2, ["misses"] = 1, ["stale"] = 0 });
        await Store.AddCountersAsync(new Dictionary<string, long> { ["hits"] = 3, ["errors"] = -1 });

        var counters = await Store.GetCountersAsync();
        Assert.Equal(4, counters.Count);
        Assert.Equal(5, counters["hits"]);
        Assert.Equal(1, counters["misses"]);
        Assert.Equal(0, counters["stale"]);
        Assert.Equal(-1, counters["errors"]);
    }

    [Fact]
    public async Task Parallel_counter_additions_sum_exactly()
    {
        const int writers = 40;
        const int additionsEach = 10;

        await Task.WhenAll(Enumerable.Range(0, writers).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < additionsEach; i++)
            {
                await Store.AddCountersAsync(new Dictionary<string, long> { ["hits"] = 1, ["bytes"] = 100 });
            }
        })));

        var counters = await Store.GetCountersAsync();
        Assert.Equal(writers * additionsEach, counters["hits"]);
        Assert.Equal(writers * additionsEach * 100L, counters["bytes"]);
    }

    [Fact]
    public async Task ClearCounters_starts_the_stats_again_and_leaves_entries_alone()
    {
        await Store.SetAsync(Record("k1"));
        await Store.AddCountersAsync(new Dictionary<string, long> { ["hits"] = 9 });

        await Store.ClearCountersAsync();

        Assert.Empty(await Store.GetCountersAsync());
        await Store.AddCountersAsync(new Dictionary<string, long> { ["hits"] = 1 });
        Assert.Equal(1, (await Store.GetCountersAsync())["hits"]);
        Assert.NotNull(await Store.GetAsync("k1"));
    }

    [Fact]
    public async Task RecordAccess_adds_hits_moves_last_access_forward_and_ignores_missing_keys()
    {
        await Store.SetAsync(Record("a", hitCount: 1));
        await Store.SetAsync(Record("b"));

        await Store.RecordAccessAsync(
        [
            new EntryAccess("a", 2, T0.AddMinutes(5)),
            new EntryAccess("missing", 4, T0.AddMinutes(5)),
            new EntryAccess("b", 1, T0.AddMinutes(1)),
        ]);
        await Store.RecordAccessAsync([new EntryAccess("a", 3, T0.AddMinutes(10))]);
        // An older access, flushed late, must not move the clock back.
        await Store.RecordAccessAsync([new EntryAccess("b", 1, T0)]);

        var a = await Store.GetAsync("a");
        var b = await Store.GetAsync("b");
        Assert.NotNull(a);
        Assert.NotNull(b);
        Assert.Equal(6, a.HitCount);
        Assert.Equal(T0.AddMinutes(10), a.LastAccessedAt);
        Assert.Equal(2, b.HitCount);
        Assert.Equal(T0.AddMinutes(1), b.LastAccessedAt);
        Assert.Null(await Store.GetAsync("missing"));
        Assert.Equal(6, (await ToListAsync(Store.ListAsync(new CacheQuery { Key = "a" })))[0].HitCount);
    }
}
