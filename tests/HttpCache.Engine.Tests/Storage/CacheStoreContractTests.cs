using System.Security.Cryptography;
using System.Text;
using HttpCache.Engine.Storage;

namespace HttpCache.Engine.Tests.Storage;

/// <summary>
/// The <see cref="ICacheStore"/> contract. Every backend's test class inherits it and only says how to
/// make a fresh, empty store; backend-specific behaviour lives in the derived class.
/// </summary>
public abstract class CacheStoreContractTests : IAsyncLifetime
{
    // Not UTC and not on a millisecond boundary: a store must keep the instant exactly.
    protected static readonly DateTimeOffset T0 = new DateTimeOffset(2025, 3, 14, 15, 9, 26, TimeSpan.FromHours(2)).AddTicks(5358979);

    private readonly List<ICacheStore> _limitedStores = [];
    private ICacheStore? _store;

    protected ICacheStore Store => _store ?? throw new InvalidOperationException("The store is created in InitializeAsync.");

    /// <summary>A new, empty store; the base class disposes it.</summary>
    protected abstract Task<ICacheStore> CreateStoreAsync();

    /// <summary>
    /// A new, empty store at a location of its own that keeps to <paramref name="limits"/>; the base class
    /// disposes it. Every backend supports limits: until one overrides this, its limits tests fail here.
    /// </summary>
    protected virtual Task<ICacheStore> CreateLimitedStoreAsync(StoreLimits limits) =>
        throw new NotSupportedException($"{GetType().Name} does not override CreateLimitedStoreAsync, so StoreLimits are untested.");

    public virtual async Task InitializeAsync() => _store = await CreateStoreAsync();

    public virtual async Task DisposeAsync()
    {
        foreach (var limited in _limitedStores)
        {
            await limited.DisposeAsync();
        }

        if (_store is not null)
        {
            await _store.DisposeAsync();
        }
    }

    protected async Task<ICacheStore> LimitedStoreAsync(StoreLimits limits)
    {
        var store = await CreateLimitedStoreAsync(limits);
        _limitedStores.Add(store);
        return store;
    }

    /// <summary>What every backend counts as an entry's size: its metadata and body bytes.</summary>
    protected static long SizeOf(CacheRecord record) => (long)record.Metadata.Length + record.Body.Length;

    protected static CacheRecord Record(
        string key,
        string? primaryKey = null,
        DateTimeOffset? createdAt = null,
        DateTimeOffset? expiresAt = null,
        DateTimeOffset? keepUntil = null,
        string body = "body",
        int statusCode = 200,
        long hitCount = 0,
        DateTimeOffset? lastAccessedAt = null) => new()
        {
            Key = key,
            PrimaryKey = primaryKey ?? "GET\u001ehttps://example.test/" + key,
            Method = "GET",
            Uri = "https://example.test/" + key,
            StatusCode = statusCode,
            CreatedAt = createdAt ?? T0,
            ExpiresAt = expiresAt,
            KeepUntil = keepUntil,
            HitCount = hitCount,
            LastAccessedAt = lastAccessedAt,
            Metadata = Encoding.UTF8.GetBytes("meta:" + key),
            Body = Encoding.UTF8.GetBytes(body),
        };

    protected static async Task<List<CacheRecordInfo>> ToListAsync(IAsyncEnumerable<CacheRecordInfo> items)
    {
        var list = new List<CacheRecordInfo>();
        await foreach (var item in items)
        {
            list.Add(item);
        }

        return list;
    }

    private Task<string[]> ListKeysAsync(CacheQuery query) => ListKeysAsync(Store, query);

    protected static async Task<string[]> ListKeysAsync(ICacheStore store, CacheQuery query) =>
        (await ToListAsync(store.ListAsync(query))).Select(i => i.Key).ToArray();

    protected static async Task<long> EvictionsAsync(ICacheStore store) =>
        (await store.GetCountersAsync()).GetValueOrDefault("evictions");

    private static string Text(byte[] bytes) => Encoding.UTF8.GetString(bytes);

    [Fact]
    public void Names_the_backend_and_its_location()
    {
        Assert.False(string.IsNullOrWhiteSpace(Store.BackendName));
        Assert.False(string.IsNullOrWhiteSpace(Store.Location));
    }

    [Fact]
    public async Task Missing_entries_read_as_null_and_empty()
    {
        Assert.Null(await Store.GetAsync("nothing"));
        Assert.Empty(await Store.GetVariantsAsync("nothing"));
    }

    [Fact]
    public async Task Set_then_get_round_trips_every_field()
    {
        var record = new CacheRecord
        {
            Key = "k1",
            PrimaryKey = "GET\u001ehttps://example.test/a?x=1",
            Method = "GET",
            Uri = "https://example.test/a?x=1&token=REDACTED",
            StatusCode = 203,
            CreatedAt = T0,
            ExpiresAt = T0.AddMinutes(5),
            KeepUntil = T0.AddDays(1),
            Size = 999_999, // the store measures the size itself
            HitCount = 7,
            LastAccessedAt = T0.AddSeconds(30),
            Metadata = [0, 1, 2, 255, 0],
            Body = Encoding.UTF8.GetBytes("héllo, wörld"),
        };

        await Store.SetAsync(record);
        var stored = await Store.GetAsync("k1");

        Assert.NotNull(stored);
        Assert.Equal(record.Key, stored.Key);
        Assert.Equal(record.PrimaryKey, stored.PrimaryKey);
        Assert.Equal(record.Method, stored.Method);
        Assert.Equal(record.Uri, stored.Uri);
        Assert.Equal(203, stored.StatusCode);
        Assert.Equal(T0, stored.CreatedAt);
        Assert.Equal(T0.UtcTicks, stored.CreatedAt.UtcTicks);
        Assert.Equal(T0.AddMinutes(5), stored.ExpiresAt);
        Assert.Equal(T0.AddDays(1), stored.KeepUntil);
        Assert.Equal(record.Metadata.Length + record.Body.Length, stored.Size);
        Assert.Equal(7, stored.HitCount);
        Assert.Equal(T0.AddSeconds(30), stored.LastAccessedAt);
        Assert.Equal(record.Metadata, stored.Metadata);
        Assert.Equal(record.Body, stored.Body);
    }

    [Fact]
    public async Task Absent_optional_fields_and_empty_body_round_trip()
    {
        await Store.SetAsync(Record("k1", body: ""));

        var stored = await Store.GetAsync("k1");

        Assert.NotNull(stored);
        Assert.Null(stored.ExpiresAt);
        Assert.Null(stored.KeepUntil);
        Assert.Null(stored.LastAccessedAt);
        Assert.Equal(0, stored.HitCount);
        Assert.Empty(stored.Body);
        Assert.Equal(stored.Metadata.Length, stored.Size);
    }

    [Fact]
    public async Task Set_replaces_the_entry_with_the_same_key()
    {
        await Store.SetAsync(Record("k1", primaryKey: "p", body: "old", statusCode: 200));
        await Store.SetAsync(Record("k1", primaryKey: "p", body: "newer", statusCode: 404, expiresAt: T0.AddHours(1)));

        var stored = await Store.GetAsync("k1");
        Assert.NotNull(stored);
        Assert.Equal("newer", Text(stored.Body));
        Assert.Equal(404, stored.StatusCode);
        Assert.Equal(T0.AddHours(1), stored.ExpiresAt);
        Assert.Single(await Store.GetVariantsAsync("p"));
        Assert.Equal(1, (await Store.GetInventoryAsync()).Entries);
    }

    [Fact]
    public async Task Replacing_an_entry_under_another_primary_key_moves_it()
    {
        await Store.SetAsync(Record("k1", primaryKey: "old"));
        await Store.SetAsync(Record("k1", primaryKey: "new"));

        Assert.Empty(await Store.GetVariantsAsync("old"));
        Assert.Equal("k1", Assert.Single(await Store.GetVariantsAsync("new")).Key);
    }

    [Fact]
    public async Task Variants_are_grouped_by_primary_key()
    {
        await Store.SetAsync(Record("v1", primaryKey: "A", body: "one"));
        await Store.SetAsync(Record("v2", primaryKey: "A", body: "two"));
        await Store.SetAsync(Record("v3", primaryKey: "A", body: "three"));
        await Store.SetAsync(Record("other", primaryKey: "B"));

        var variants = await Store.GetVariantsAsync("A");

        Assert.Equal(["v1", "v2", "v3"], variants.Select(v => v.Key).Order(StringComparer.Ordinal));
        Assert.Equal(["one", "three", "two"], variants.Select(v => Text(v.Body)).Order(StringComparer.Ordinal));
        Assert.All(variants, v => Assert.Equal("A", v.PrimaryKey));
    }

    [Fact]
    public async Task Removing_a_primary_key_removes_every_variant_and_nothing_else()
    {
        await Store.SetAsync(Record("v1", primaryKey: "A"));
        await Store.SetAsync(Record("v2", primaryKey: "A"));
        await Store.SetAsync(Record("v3", primaryKey: "A"));
        await Store.SetAsync(Record("other", primaryKey: "B"));

        var removed = await Store.RemoveAsync(new CacheQuery { PrimaryKey = "A" });

        Assert.Equal(3, removed);
        Assert.Empty(await Store.GetVariantsAsync("A"));
        Assert.Null(await Store.GetAsync("v2"));
        Assert.NotNull(await Store.GetAsync("other"));
        Assert.Single(await Store.GetVariantsAsync("B"));
    }

    [Fact]
    public async Task Removing_by_key_removes_one_variant()
    {
        await Store.SetAsync(Record("v1", primaryKey: "A"));
        await Store.SetAsync(Record("v2", primaryKey: "A"));

        Assert.Equal(1, await Store.RemoveAsync(new CacheQuery { Key = "v1" }));
        Assert.Equal(0, await Store.RemoveAsync(new CacheQuery { Key = "v1" }));
        Assert.Equal("v2", Assert.Single(await Store.GetVariantsAsync("A")).Key);
    }

    [Fact]
    public async Task Removing_everything_empties_the_store()
    {
        await Store.SetAsync(Record("a"));
        await Store.SetAsync(Record("b"));

        Assert.Equal(2, await Store.RemoveAsync(CacheQuery.All));
        Assert.Equal(new StoreInventory(0, 0, null, null), await Store.GetInventoryAsync());
    }

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

    [Fact]
    public async Task Parallel_sets_and_gets_from_many_tasks_all_land()
    {
        const int tasks = 16;
        const int entriesEach = 25;

        await Task.WhenAll(Enumerable.Range(0, tasks).Select(t => Task.Run(async () =>
        {
            for (var i = 0; i < entriesEach; i++)
            {
                var key = $"t{t}-e{i}";
                await Store.SetAsync(Record(key, primaryKey: $"p{t}", body: key));
                var read = await Store.GetAsync(key);
                Assert.NotNull(read);
                Assert.Equal(key, Text(read.Body));
                Assert.NotEmpty(await Store.GetVariantsAsync($"p{t}"));
            }
        })));

        Assert.Equal(tasks * entriesEach, (await Store.GetInventoryAsync()).Entries);
        for (var t = 0; t < tasks; t++)
        {
            Assert.Equal(entriesEach, (await Store.GetVariantsAsync($"p{t}")).Count);
        }
    }

    [Fact]
    public async Task A_large_body_round_trips_intact()
    {
        var body = RandomNumberGenerator.GetBytes(5 * 1024 * 1024);
        var record = Record("big");
        await Store.SetAsync(new CacheRecord
        {
            Key = record.Key,
            PrimaryKey = record.PrimaryKey,
            Method = record.Method,
            Uri = record.Uri,
            CreatedAt = record.CreatedAt,
            Metadata = record.Metadata,
            Body = body,
        });

        var stored = Assert.Single(await Store.GetVariantsAsync(record.PrimaryKey));

        Assert.True(body.AsSpan().SequenceEqual(stored.Body));
        Assert.Equal(body.Length + record.Metadata.Length, stored.Size);
    }

    [Fact]
    public async Task A_cancelled_token_stops_a_call()
    {
        await Store.SetAsync(Record("k1"));
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Store.GetAsync("k1", cancelled.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Store.RemoveAsync(CacheQuery.All, cancelled.Token));
        Assert.NotNull(await Store.GetAsync("k1"));
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
