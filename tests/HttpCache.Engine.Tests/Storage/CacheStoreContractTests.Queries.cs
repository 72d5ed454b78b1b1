using HttpCache.Engine.Storage;

namespace HttpCache.Engine.Tests.Storage;

/// <summary>The <see cref="ICacheStore"/> contract: expiry and creation filters, expiration updates, listing order and the inventory.</summary>
public abstract partial class CacheStoreContractTests
{
    [Fact]
    public async Task ExpiredAsOf_matches_expirations_at_or_before_the_instant_and_never_a_null_one()
    {
        await Store.SetAsync(Record("before", expiresAt: T0.AddTicks(-1)));
        await Store.SetAsync(Record("exactly", expiresAt: T0));
        await Store.SetAsync(Record("after", expiresAt: T0.AddTicks(1)));
        await Store.SetAsync(Record("never"));

        Assert.Equal(["before", "exactly"], (await ListKeysAsync(new CacheQuery { ExpiredAsOf = T0 })).Order(StringComparer.Ordinal));
        Assert.Equal(2, await Store.RemoveAsync(new CacheQuery { ExpiredAsOf = T0 }));
        Assert.Equal(["after", "never"], (await ListKeysAsync(CacheQuery.All)).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task CreatedBefore_and_CreatedAfter_are_strict()
    {
        await Store.SetAsync(Record("early", createdAt: T0.AddMinutes(-1)));
        await Store.SetAsync(Record("exactly", createdAt: T0));
        await Store.SetAsync(Record("late", createdAt: T0.AddMinutes(1)));

        Assert.Equal(["early"], await ListKeysAsync(new CacheQuery { CreatedBefore = T0 }));
        Assert.Equal(["late"], await ListKeysAsync(new CacheQuery { CreatedAfter = T0 }));
        Assert.Equal(
            ["exactly"],
            await ListKeysAsync(new CacheQuery { CreatedAfter = T0.AddMinutes(-1), CreatedBefore = T0.AddMinutes(1) }));
        Assert.Equal(1, await Store.RemoveAsync(new CacheQuery { CreatedBefore = T0 }));
        Assert.Null(await Store.GetAsync("early"));
    }

    [Fact]
    public async Task Filters_combine_with_AND()
    {
        await Store.SetAsync(Record("a-expired", primaryKey: "A", expiresAt: T0.AddHours(-1)));
        await Store.SetAsync(Record("a-fresh", primaryKey: "A", expiresAt: T0.AddHours(1)));
        await Store.SetAsync(Record("b-expired", primaryKey: "B", expiresAt: T0.AddHours(-1)));

        var query = new CacheQuery { PrimaryKey = "A", ExpiredAsOf = T0 };

        Assert.Equal(["a-expired"], await ListKeysAsync(query));
        Assert.Empty(await ListKeysAsync(new CacheQuery { Key = "a-fresh", ExpiredAsOf = T0 }));
        Assert.Equal(1, await Store.RemoveAsync(query));
        Assert.Equal(["a-fresh", "b-expired"], (await ListKeysAsync(CacheQuery.All)).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task UpdateExpiration_sets_both_clocks_and_reports_missing_entries()
    {
        await Store.SetAsync(Record("k1", expiresAt: T0, keepUntil: T0.AddDays(1), body: "kept"));

        Assert.True(await Store.UpdateExpirationAsync("k1", T0.AddHours(2), null));
        var stored = await Store.GetAsync("k1");
        Assert.NotNull(stored);
        Assert.Equal(T0.AddHours(2), stored.ExpiresAt);
        Assert.Null(stored.KeepUntil);
        Assert.Equal("kept", Text(stored.Body));

        Assert.True(await Store.UpdateExpirationAsync("k1", null, T0.AddDays(3)));
        stored = await Store.GetAsync("k1");
        Assert.NotNull(stored);
        Assert.Null(stored.ExpiresAt);
        Assert.Equal(T0.AddDays(3), stored.KeepUntil);

        Assert.False(await Store.UpdateExpirationAsync("missing", T0, T0));
        Assert.Null(await Store.GetAsync("missing"));
    }

    [Fact]
    public async Task List_is_oldest_first_and_carries_no_blobs()
    {
        await Store.SetAsync(Record("middle", createdAt: T0));
        await Store.SetAsync(Record("newest", createdAt: T0.AddSeconds(1)));
        await Store.SetAsync(Record("oldest", createdAt: T0.AddSeconds(-1), expiresAt: T0, statusCode: 301));

        var infos = await ToListAsync(Store.ListAsync(CacheQuery.All));

        Assert.Equal(["oldest", "middle", "newest"], infos.Select(i => i.Key));
        Assert.All(infos, i => Assert.False(i is CacheRecord, "a listing must not carry blobs"));
        var oldest = infos[0];
        Assert.Equal(301, oldest.StatusCode);
        Assert.Equal(T0, oldest.ExpiresAt);
        Assert.Equal("GET", oldest.Method);
        Assert.Equal("https://example.test/oldest", oldest.Uri);
        Assert.Equal("meta:oldest".Length + "body".Length, oldest.Size);
    }

    [Fact]
    public async Task List_returns_every_entry_of_a_large_store_in_order()
    {
        // More entries than a backend is likely to fetch in one page.
        const int count = 1300;
        for (var i = 0; i < count; i++)
        {
            // Threes share a creation time, across page boundaries too: order and paging must not rely on it alone.
            await Store.SetAsync(Record($"k{i:D5}", createdAt: T0.AddSeconds(i / 3)));
        }

        var keys = await ListKeysAsync(CacheQuery.All);

        Assert.Equal(count, keys.Length);
        Assert.Equal(count, keys.Distinct().Count());
        Assert.Equal(Enumerable.Range(0, count).Select(i => $"k{i:D5}"), keys);
    }

    [Fact]
    public async Task Inventory_counts_entries_bytes_and_creation_range()
    {
        Assert.Equal(new StoreInventory(0, 0, null, null), await Store.GetInventoryAsync());

        await Store.SetAsync(Record("a", createdAt: T0, body: "12345"));
        await Store.SetAsync(Record("b", createdAt: T0.AddHours(-3), body: ""));
        await Store.SetAsync(Record("c", createdAt: T0.AddHours(2), body: "1234567890"));

        var inventory = await Store.GetInventoryAsync();
        var metadata = "meta:a".Length * 3;
        Assert.Equal(3, inventory.Entries);
        Assert.Equal(metadata + 15, inventory.Bytes);
        Assert.Equal(T0.AddHours(-3), inventory.Oldest);
        Assert.Equal(T0.AddHours(2), inventory.Newest);

        await Store.SetAsync(Record("c", createdAt: T0.AddHours(2), body: "1"));
        Assert.Equal(metadata + 6, (await Store.GetInventoryAsync()).Bytes);
    }

    [Fact]
    public async Task List_breaks_creation_time_ties_by_key_ordinally()
    {
        await Store.SetAsync(Record("b", createdAt: T0));
        await Store.SetAsync(Record("later", createdAt: T0.AddTicks(1)));
        await Store.SetAsync(Record("a", createdAt: T0));
        await Store.SetAsync(Record("B", createdAt: T0));

        Assert.Equal(["B", "a", "b", "later"], await ListKeysAsync(CacheQuery.All));
    }

    [Fact]
    public async Task KeepUntilAsOf_matches_kept_until_times_at_or_before_the_instant_and_never_a_null_one()
    {
        await Store.SetAsync(Record("before", primaryKey: "A", keepUntil: T0.AddTicks(-1)));
        await Store.SetAsync(Record("exactly", primaryKey: "B", keepUntil: T0));
        await Store.SetAsync(Record("after", keepUntil: T0.AddTicks(1)));
        // Expired long ago, but kept until removed: the purge must leave it.
        await Store.SetAsync(Record("kept", expiresAt: T0.AddDays(-1)));

        Assert.Equal(["before", "exactly"], (await ListKeysAsync(new CacheQuery { KeepUntilAsOf = T0 })).Order(StringComparer.Ordinal));
        Assert.Equal(["exactly"], await ListKeysAsync(new CacheQuery { KeepUntilAsOf = T0, PrimaryKey = "B" }));
        Assert.Equal(2, await Store.RemoveAsync(new CacheQuery { KeepUntilAsOf = T0 }));
        Assert.Equal(["after", "kept"], (await ListKeysAsync(CacheQuery.All)).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task KeepUntilAsOf_sees_a_kept_until_time_set_later()
    {
        await Store.SetAsync(Record("k1"));
        Assert.Empty(await ListKeysAsync(new CacheQuery { KeepUntilAsOf = T0 }));

        await Store.UpdateExpirationAsync("k1", T0, T0);

        Assert.Equal(1, await Store.RemoveAsync(new CacheQuery { KeepUntilAsOf = T0 }));
        Assert.Null(await Store.GetAsync("k1"));
    }
}
