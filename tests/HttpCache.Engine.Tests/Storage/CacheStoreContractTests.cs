using System.Text;
using HttpCache.Engine.Storage;

namespace HttpCache.Engine.Tests.Storage;

/// <summary>
/// The <see cref="ICacheStore"/> contract. Every backend's test class inherits it and only says how to
/// make a fresh, empty store; backend-specific behaviour lives in the derived class.
/// </summary>
public abstract partial class CacheStoreContractTests : IAsyncLifetime
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
}
