using HttpCache.Engine.Storage;

namespace HttpCache.Engine.Tests.Storage;

/// <summary>The <see cref="ICacheStore"/> contract: eviction by MaxEntries and MaxBytes, least recently used first.</summary>
public abstract partial class CacheStoreContractTests
{
    [Fact]
    public async Task Without_limits_nothing_is_evicted()
    {
        var store = await LimitedStoreAsync(StoreLimits.None);
        for (var i = 0; i < 50; i++)
        {
            await store.SetAsync(Record($"k{i}", body: new string('x', 1000)));
        }

        Assert.Equal(50, (await store.GetInventoryAsync()).Entries);
        Assert.Equal(0, await EvictionsAsync(store));
    }

    [Fact]
    public async Task MaxEntries_evicts_the_least_recently_used_entry()
    {
        var store = await LimitedStoreAsync(new StoreLimits { MaxEntries = 3 });
        await store.SetAsync(Record("a", createdAt: T0));
        await store.SetAsync(Record("b", createdAt: T0.AddSeconds(1)));
        await store.SetAsync(Record("c", createdAt: T0.AddSeconds(2)));
        // The oldest entry, but the one used last: it must survive.
        await store.RecordAccessAsync([new EntryAccess("a", 1, T0.AddSeconds(10))]);
        Assert.False((await store.GetCountersAsync()).ContainsKey("evictions"));

        await store.SetAsync(Record("d", createdAt: T0.AddSeconds(3)));

        Assert.Null(await store.GetAsync("b"));
        Assert.Empty(await store.GetVariantsAsync(Record("b").PrimaryKey));
        Assert.Equal(["a", "c", "d"], (await ListKeysAsync(store, CacheQuery.All)).Order(StringComparer.Ordinal));
        Assert.Equal(1, await EvictionsAsync(store));
    }

    [Fact]
    public async Task Least_recently_used_ties_go_by_key()
    {
        var store = await LimitedStoreAsync(new StoreLimits { MaxEntries = 2 });
        await store.SetAsync(Record("y", createdAt: T0));
        await store.SetAsync(Record("x", createdAt: T0));

        await store.SetAsync(Record("z", createdAt: T0.AddSeconds(1)));

        Assert.Equal(["y", "z"], (await ListKeysAsync(store, CacheQuery.All)).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task MaxBytes_evicts_least_recently_used_entries_until_the_bytes_fit()
    {
        // Two-character keys and 100-byte bodies: every entry has the same size.
        var one = SizeOf(Record("e1", body: new string('x', 100)));
        var store = await LimitedStoreAsync(new StoreLimits { MaxBytes = (one * 3) + (one / 2) });
        for (var i = 1; i <= 3; i++)
        {
            await store.SetAsync(Record($"e{i}", createdAt: T0.AddSeconds(i), body: new string('x', 100)));
        }

        Assert.Equal(one * 3, (await store.GetInventoryAsync()).Bytes);

        await store.SetAsync(Record("e4", createdAt: T0.AddSeconds(4), body: new string('x', 100)));
        Assert.Null(await store.GetAsync("e1"));
        Assert.Equal(one * 3, (await store.GetInventoryAsync()).Bytes);

        // Twice the size: two older entries must go to make room.
        var twice = Record("e5", createdAt: T0.AddSeconds(5), body: new string('x', (int)(2 * one) - "meta:e5".Length));
        Assert.Equal(2 * one, SizeOf(twice));
        await store.SetAsync(twice);

        Assert.Equal(["e4", "e5"], (await ListKeysAsync(store, CacheQuery.All)).Order(StringComparer.Ordinal));
        Assert.Equal(one * 3, (await store.GetInventoryAsync()).Bytes);
        Assert.Equal(3, await EvictionsAsync(store));
    }

    [Fact]
    public async Task An_entry_larger_than_MaxBytes_on_its_own_is_not_stored_and_evicts_nothing()
    {
        var store = await LimitedStoreAsync(new StoreLimits { MaxBytes = 100 });
        await store.SetAsync(Record("small", body: "12345"));

        var huge = Record("huge", body: new string('x', 100));
        Assert.True(SizeOf(huge) > 100);
        await store.SetAsync(huge);

        Assert.Null(await store.GetAsync("huge"));
        Assert.Empty(await store.GetVariantsAsync(huge.PrimaryKey));
        Assert.NotNull(await store.GetAsync("small"));
        Assert.Equal(1, (await store.GetInventoryAsync()).Entries);
        Assert.Equal(0, await EvictionsAsync(store));
    }

    [Fact]
    public async Task An_entry_that_fits_MaxBytes_exactly_is_stored()
    {
        var record = Record("exact", body: "12345");
        var store = await LimitedStoreAsync(new StoreLimits { MaxBytes = SizeOf(record) });

        await store.SetAsync(record);

        Assert.NotNull(await store.GetAsync("exact"));
    }

    [Fact]
    public async Task Replacing_an_entry_with_one_larger_than_MaxBytes_removes_the_older_version()
    {
        var store = await LimitedStoreAsync(new StoreLimits { MaxBytes = 100 });
        await store.SetAsync(Record("k1", body: "old"));

        await store.SetAsync(Record("k1", body: new string('x', 200)));

        Assert.Null(await store.GetAsync("k1"));
        Assert.Equal(0, (await store.GetInventoryAsync()).Entries);
        Assert.Equal(0, await EvictionsAsync(store));
    }

    [Fact]
    public async Task The_entry_just_written_is_never_evicted_for_its_own_write()
    {
        var store = await LimitedStoreAsync(new StoreLimits { MaxEntries = 2 });
        await store.SetAsync(Record("a", createdAt: T0.AddSeconds(1)));
        await store.SetAsync(Record("b", createdAt: T0.AddSeconds(2)));

        // Older than both by its creation time, yet just written.
        await store.SetAsync(Record("old", createdAt: T0));

        Assert.NotNull(await store.GetAsync("old"));
        Assert.Null(await store.GetAsync("a"));
        Assert.NotNull(await store.GetAsync("b"));
    }

    [Fact]
    public async Task Replacing_an_entry_at_capacity_evicts_nothing()
    {
        var store = await LimitedStoreAsync(new StoreLimits { MaxEntries = 2 });
        await store.SetAsync(Record("a", createdAt: T0));
        await store.SetAsync(Record("b", createdAt: T0.AddSeconds(1)));

        await store.SetAsync(Record("a", createdAt: T0.AddSeconds(2), body: "replaced"));
        await store.RecordAccessAsync([new EntryAccess("b", 1, T0.AddSeconds(3))]);
        await store.UpdateExpirationAsync("b", T0.AddHours(1), T0.AddDays(1));

        Assert.Equal(["a", "b"], (await ListKeysAsync(store, CacheQuery.All)).Order(StringComparer.Ordinal));
        Assert.Equal(0, await EvictionsAsync(store));
    }

    [Fact]
    public async Task Evictions_add_to_the_persisted_evictions_counter()
    {
        var store = await LimitedStoreAsync(new StoreLimits { MaxEntries = 2 });
        await store.AddCountersAsync(new Dictionary<string, long> { ["evictions"] = 10, ["hits"] = 4 });

        for (var i = 0; i < 5; i++)
        {
            await store.SetAsync(Record($"k{i}", createdAt: T0.AddSeconds(i)));
        }

        var counters = await store.GetCountersAsync();
        Assert.Equal(13, counters["evictions"]);
        Assert.Equal(4, counters["hits"]);
        Assert.Equal(["k3", "k4"], (await ListKeysAsync(store, CacheQuery.All)).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Concurrent_writers_never_leave_a_limited_store_over_its_bounds()
    {
        const int tasks = 8;
        const int writesEach = 30;
        // Keys of one length and bodies of one size, so MaxBytes is the bound that binds (15 entries).
        var one = SizeOf(Record("t0-w00", body: new string('x', 50)));
        var limits = new StoreLimits { MaxEntries = 20, MaxBytes = one * 15 };
        var store = await LimitedStoreAsync(limits);

        await Task.WhenAll(Enumerable.Range(0, tasks).Select(t => Task.Run(async () =>
        {
            for (var i = 0; i < writesEach; i++)
            {
                var key = $"t{t}-w{i:D2}";
                await store.SetAsync(Record(key, createdAt: T0.AddSeconds(i), body: new string('x', 50)));
                if (i % 5 == 0)
                {
                    await store.RecordAccessAsync([new EntryAccess(key, 1, T0.AddSeconds(i + 1))]);
                }
            }
        })));

        var inventory = await store.GetInventoryAsync();
        Assert.True(inventory.Entries <= limits.MaxEntries, $"{inventory.Entries} entries");
        Assert.True(inventory.Bytes <= limits.MaxBytes, $"{inventory.Bytes} bytes");
        Assert.Equal(15, inventory.Entries);
        // Every write stored a new key: each one is either still there or was counted as evicted.
        Assert.Equal((tasks * writesEach) - inventory.Entries, await EvictionsAsync(store));
        Assert.Equal(inventory.Entries, (await ListKeysAsync(store, CacheQuery.All)).Length);
    }

    [Theory]
    [InlineData(0L, null)]
    [InlineData(null, 0L)]
    [InlineData(-1L, 5L)]
    public async Task Bounds_below_one_are_refused(long? maxBytes, long? maxEntries) =>
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(
            () => CreateLimitedStoreAsync(new StoreLimits { MaxBytes = maxBytes, MaxEntries = maxEntries }));
}
