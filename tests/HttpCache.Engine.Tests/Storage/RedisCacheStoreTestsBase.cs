using System.Text;
using HttpCache.Engine.Storage;
using HttpCache.Engine.Storage.Redis;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace HttpCache.Engine.Tests.Storage;

/// <summary>
/// The contract and the Redis-specific behaviour, for a standalone server and a Cluster alike. Each test
/// works in its own random namespace (so tests running at once never see each other) and deletes it after.
/// </summary>
public abstract partial class RedisCacheStoreTestsBase : CacheStoreContractTests
{
    private readonly List<ICacheStore> _extraStores = [];
    private int _limitedStores;

    protected RedisCacheStoreTestsBase(RedisFixtureBase redis)
    {
        Redis = redis;
        Namespace = "t:" + Guid.NewGuid().ToString("N");
    }

    protected RedisFixtureBase Redis { get; }

    protected string Namespace { get; }

    protected IDatabase Database => Redis.Connection.GetDatabase();

    /// <summary>
    /// The contract's times are fixed in 2025, long past: measured against the real clock their keep-until
    /// would already have passed and Redis would drop the entries on write. The store measures keep-until
    /// against the engine's clock; this one stands well before them.
    /// </summary>
    protected static FakeTimeProvider ContractClock() => new(T0.AddYears(-10));

    protected override Task<ICacheStore> CreateStoreAsync() =>
        Task.FromResult<ICacheStore>(new RedisCacheStore(Redis.Connection, Namespace, null, ContractClock()));

    // Each limited store gets a namespace of its own, under this test's (so the cleanup takes it too).
    protected override Task<ICacheStore> CreateLimitedStoreAsync(StoreLimits limits) =>
        Task.FromResult<ICacheStore>(new RedisCacheStore(
            Redis.Connection, $"{Namespace}:limited{Interlocked.Increment(ref _limitedStores)}", limits, ContractClock()));

    /// <summary>Another store on the fixture's connection, in this test's namespace unless told; disposed after the test.</summary>
    protected RedisCacheStore OpenStore(StoreLimits? limits = null, TimeProvider? clock = null, string? @namespace = null)
    {
        var store = new RedisCacheStore(Redis.Connection, @namespace ?? Namespace, limits, clock ?? ContractClock());
        _extraStores.Add(store);
        return store;
    }

    /// <summary>A store with its own connection, from a configuration string; disposed after the test.</summary>
    protected RedisCacheStore OpenOwnConnection(StoreLimits? limits = null)
    {
        // A generous connect timeout: under a loaded test run a Cluster connection can take over the default second,
        // and a store that is not connected yet fails calls at once (by design).
        var store = new RedisCacheStore(Redis.Configuration + ",connectTimeout=10000", Namespace, limits, ContractClock());
        _extraStores.Add(store);
        return store;
    }

    public override async Task DisposeAsync()
    {
        foreach (var store in _extraStores)
        {
            await store.DisposeAsync();
        }

        await base.DisposeAsync();
        await Redis.DeleteNamespaceAsync(Namespace);
    }

    private RedisKeyLayout Keys => new(Namespace);

    // TTL in whole seconds, read with the TTL command: -1 no TTL, -2 no key.
    protected async Task<long> TtlAsync(RedisKey key) => (long)await Database.ExecuteAsync("TTL", key);

    [Fact]
    public void Is_the_Redis_backend_at_its_endpoints_and_namespace()
    {
        Assert.Equal("Redis", Store.BackendName);
        var first = Redis.Configuration.Split(',')[0];
        Assert.Contains(first, Store.Location, StringComparison.Ordinal);
        Assert.Contains(Namespace, Store.Location, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_entry_is_one_hash_with_its_variant_set_and_index_under_the_namespace()
    {
        await Store.SetAsync(Record("0123abcd.89ef", primaryKey: "0123abcd"));
        await Store.AddCountersAsync(new Dictionary<string, long> { ["hits"] = 1 });

        var keys = await Redis.KeysAsync(Namespace);

        Assert.Contains($"{Namespace}:{{0123abcd}}:e:0123abcd.89ef", keys);
        Assert.Contains($"{Namespace}:{{0123abcd}}:v", keys);
        Assert.Contains($"{Namespace}:i:0123abcd.89ef", keys);
        Assert.Contains($"{Namespace}:counters", keys);
        Assert.All(keys, k => Assert.StartsWith(Namespace + ":", k, StringComparison.Ordinal));
        Assert.Equal(RedisType.Hash, await Database.KeyTypeAsync($"{Namespace}:{{0123abcd}}:e:0123abcd.89ef"));
        Assert.Equal(["0123abcd.89ef"], (await Database.SetMembersAsync($"{Namespace}:{{0123abcd}}:v")).Select(v => (string)v!));
    }

    [Theory]
    [InlineData("0123456789abcdef0123456789abcdef")]
    [InlineData("GET\u001ehttps://example.test/a?x={1}&y=}")]
    [InlineData("}{")]
    [InlineData("")]
    [InlineData("ünïcødé ✓")]
    [InlineData("*?[a-z]\\")]
    public async Task Any_primary_key_round_trips_and_stays_in_one_slot(string primaryKey)
    {
        var keys = Keys;
        await Store.SetAsync(Record("v1", primaryKey: primaryKey, body: "one"));
        await Store.SetAsync(Record(primaryKey + ".v2", primaryKey: primaryKey, body: "two"));

        Assert.Equal(["one", "two"], (await Store.GetVariantsAsync(primaryKey)).Select(r => Encoding.UTF8.GetString(r.Body)).Order(StringComparer.Ordinal));
        Assert.Equal(primaryKey, (await Store.GetAsync(primaryKey + ".v2"))?.PrimaryKey);
        var slot = Redis.Connection.HashSlot(keys.Variants(primaryKey));
        Assert.Equal(slot, Redis.Connection.HashSlot(keys.Entry(primaryKey, "v1")));
        Assert.Equal(slot, Redis.Connection.HashSlot(keys.Entry(primaryKey, primaryKey + ".v2")));
        Assert.Equal(2, await Store.RemoveAsync(new CacheQuery { PrimaryKey = primaryKey }));
        Assert.Empty(await Redis.KeysAsync(Namespace));
    }

    [Fact]
    public async Task Two_namespaces_on_one_server_do_not_see_each_other()
    {
        var otherNamespace = Namespace + "x";
        try
        {
            var other = OpenStore(@namespace: otherNamespace);
            await Store.SetAsync(Record("k1", primaryKey: "P"));
            await Store.AddCountersAsync(new Dictionary<string, long> { ["hits"] = 3 });
            await other.SetAsync(Record("k2", primaryKey: "P"));

            Assert.Null(await other.GetAsync("k1"));
            Assert.Equal(["k2"], (await other.GetVariantsAsync("P")).Select(r => r.Key));
            Assert.Equal(["k2"], (await ToListAsync(other.ListAsync(CacheQuery.All))).Select(i => i.Key));
            Assert.Equal(1, (await other.GetInventoryAsync()).Entries);
            Assert.Empty(await other.GetCountersAsync());

            Assert.Equal(1, await other.RemoveAsync(CacheQuery.All));
            Assert.NotNull(await Store.GetAsync("k1"));
            Assert.Equal(3, (await Store.GetCountersAsync())["hits"]);
        }
        finally
        {
            await Redis.DeleteNamespaceAsync(otherNamespace);
        }
    }

    [Fact]
    public async Task KeepUntil_becomes_the_TTL_of_the_entry_its_index_and_its_variant_set()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var store = OpenStore(clock: clock);
        var keys = Keys;
        var now = clock.GetUtcNow();

        await store.SetAsync(Record("k1", primaryKey: "P", keepUntil: now.AddHours(1)));

        AssertAbout(3600, await TtlAsync(keys.Entry("P", "k1")));
        AssertAbout(3600, await TtlAsync(keys.Index("k1")));
        AssertAbout(3600, await TtlAsync(keys.Variants("P")));

        // The variant set lives as long as its longest-kept entry...
        await store.SetAsync(Record("k2", primaryKey: "P", keepUntil: now.AddHours(3)));
        AssertAbout(3 * 3600, await TtlAsync(keys.Variants("P")));
        AssertAbout(3600, await TtlAsync(keys.Entry("P", "k1")));

        // ...and forever once one of them is kept until removed.
        await store.SetAsync(Record("k3", primaryKey: "P"));
        Assert.Equal(-1, await TtlAsync(keys.Entry("P", "k3")));
        Assert.Equal(-1, await TtlAsync(keys.Index("k3")));
        Assert.Equal(-1, await TtlAsync(keys.Variants("P")));

        await store.RemoveAsync(new CacheQuery { Key = "k3" });
        AssertAbout(3 * 3600, await TtlAsync(keys.Variants("P")));
    }

    [Fact]
    public async Task UpdateExpiration_moves_the_TTL()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var store = OpenStore(clock: clock);
        var keys = Keys;
        var now = clock.GetUtcNow();
        await store.SetAsync(Record("k1", primaryKey: "P", keepUntil: now.AddHours(1)));

        Assert.True(await store.UpdateExpirationAsync("k1", now.AddMinutes(5), now.AddDays(2)));
        AssertAbout(2 * 86400, await TtlAsync(keys.Entry("P", "k1")));
        AssertAbout(2 * 86400, await TtlAsync(keys.Index("k1")));
        AssertAbout(2 * 86400, await TtlAsync(keys.Variants("P")));

        Assert.True(await store.UpdateExpirationAsync("k1", now.AddMinutes(5), null));
        Assert.Equal(-1, await TtlAsync(keys.Entry("P", "k1")));
        Assert.Equal(-1, await TtlAsync(keys.Index("k1")));
        Assert.Equal(-1, await TtlAsync(keys.Variants("P")));

        Assert.True(await store.UpdateExpirationAsync("k1", null, now.AddMinutes(30)));
        AssertAbout(1800, await TtlAsync(keys.Entry("P", "k1")));
        AssertAbout(1800, await TtlAsync(keys.Variants("P")));
        Assert.Equal(now.AddMinutes(30), (await store.GetAsync("k1"))?.KeepUntil);
    }

    [Fact]
    public async Task The_system_clock_maps_KeepUntil_like_EXPIREAT()
    {
        var store = OpenStore(clock: TimeProvider.System);

        await store.SetAsync(Record("k1", primaryKey: "P", keepUntil: DateTimeOffset.UtcNow.AddMinutes(10)));

        AssertAbout(600, await TtlAsync(Keys.Entry("P", "k1")));
    }

    [Fact]
    public async Task An_entry_whose_keep_until_has_passed_is_not_kept_and_replaces_nothing()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var store = OpenStore(clock: clock);
        await store.SetAsync(Record("k1", primaryKey: "P", keepUntil: clock.GetUtcNow().AddHours(1), body: "old"));

        await store.SetAsync(Record("k1", primaryKey: "P", keepUntil: clock.GetUtcNow().AddSeconds(-1), body: "new"));

        Assert.Null(await store.GetAsync("k1"));
        Assert.Empty(await store.GetVariantsAsync("P"));
        Assert.Empty(await Redis.KeysAsync(Namespace));
    }

    [Fact]
    public async Task UpdateExpiration_to_a_past_keep_until_drops_the_entry()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var store = OpenStore(clock: clock);
        await store.SetAsync(Record("k1", primaryKey: "P", keepUntil: clock.GetUtcNow().AddHours(1)));

        Assert.True(await store.UpdateExpirationAsync("k1", null, clock.GetUtcNow().AddMinutes(-1)));

        Assert.Null(await store.GetAsync("k1"));
        Assert.Empty(await store.GetVariantsAsync("P"));
        Assert.Equal(0, (await store.GetInventoryAsync()).Entries);
    }

    [Fact]
    public async Task Counters_add_up_exactly_across_two_connections()
    {
        // Two multiplexers: the stand-in for two processes.
        var first = OpenOwnConnection();
        var second = OpenOwnConnection();
        const int tasksEach = 20;
        const int additionsEach = 25;

        await Task.WhenAll(new[] { first, second }.SelectMany(store => Enumerable.Range(0, tasksEach).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < additionsEach; i++)
            {
                await store.AddCountersAsync(new Dictionary<string, long> { ["hits"] = 1, ["bytes"] = 10 });
            }
        }))));

        var counters = await first.GetCountersAsync();
        Assert.Equal(2 * tasksEach * additionsEach, counters["hits"]);
        Assert.Equal(2 * tasksEach * additionsEach * 10L, counters["bytes"]);
        Assert.Equal(counters, await second.GetCountersAsync());
    }

    [Fact]
    public async Task A_store_with_its_own_connection_reads_what_the_shared_one_wrote_and_closes_only_its_own()
    {
        var own = OpenOwnConnection();
        await Store.SetAsync(Record("k1", primaryKey: "P", body: "shared"));

        Assert.Equal("shared", Encoding.UTF8.GetString(Assert.Single(await own.GetVariantsAsync("P")).Body));

        var borrowing = new RedisCacheStore(Redis.Connection, Namespace, null, ContractClock());
        await borrowing.DisposeAsync();
        await own.DisposeAsync();
        Assert.True(Redis.Connection.IsConnected);
        Assert.NotNull(await Store.GetAsync("k1"));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => own.GetAsync("k1"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("has{brace}")]
    [InlineData("star*")]
    public void A_namespace_that_would_break_the_key_layout_is_refused(string @namespace) =>
        Assert.Throws<ArgumentException>(() => new RedisCacheStore(Redis.Connection, @namespace));

    [Fact]
    public async Task Entries_Redis_expired_by_TTL_leave_the_bookkeeping_without_counting_as_evictions()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var store = OpenStore(new StoreLimits { MaxEntries = 2 }, clock);
        var keys = Keys;
        await store.SetAsync(Record("a", primaryKey: "A", createdAt: T0, keepUntil: clock.GetUtcNow().AddHours(1)));
        await store.SetAsync(Record("b", primaryKey: "B", createdAt: T0.AddSeconds(1)));

        // What Redis does when the TTL runs out (no waiting for it here), then the clock passes the keep-until.
        // One key per command: in a Cluster they live in two slots.
        await Database.KeyDeleteAsync(keys.Entry("A", "a"));
        await Database.KeyDeleteAsync(keys.Variants("A"));
        await Database.KeyDeleteAsync(keys.Index("a"));
        clock.Advance(TimeSpan.FromHours(2));
        await store.SetAsync(Record("c", primaryKey: "C", createdAt: T0.AddSeconds(2)));

        Assert.NotNull(await store.GetAsync("b"));
        Assert.NotNull(await store.GetAsync("c"));
        Assert.False((await store.GetCountersAsync()).ContainsKey("evictions"));
        Assert.Equal(2, await Database.SortedSetLengthAsync(keys.Lru));
    }

    [Fact]
    public async Task Entries_used_within_one_millisecond_still_leave_least_recently_used_first()
    {
        // Three misses answered in a row are stored by one queued batch within a millisecond. The least recently
        // used must go, not whichever key sorts first: "c" is used first and sorts last.
        var store = OpenStore(new StoreLimits { MaxEntries = 2 });
        var t = T0.AddTicks(1234);
        await store.SetAsync(Record("c", primaryKey: "C", createdAt: t));
        await store.SetAsync(Record("b", primaryKey: "B", createdAt: t.AddTicks(2_000)));
        await store.SetAsync(Record("a", primaryKey: "A", createdAt: t.AddTicks(4_000)));

        Assert.Equal(["a", "b"], (await ToListAsync(store.ListAsync(CacheQuery.All))).Select(i => i.Key).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Limits_hold_after_parallel_writers_on_two_connections()
    {
        var limits = new StoreLimits { MaxEntries = 20, MaxBytes = 20 * 40 };
        var first = OpenOwnConnection(limits);
        var second = OpenOwnConnection(limits);

        await Task.WhenAll(new[] { first, second }.SelectMany((store, s) => Enumerable.Range(0, 8).Select(t => Task.Run(async () =>
        {
            for (var i = 0; i < 15; i++)
            {
                await store.SetAsync(Record($"s{s}-t{t}-{i}", createdAt: T0.AddSeconds(i), body: new string('x', 20)));
            }
        }))));
        // One more write after the race: from here on the namespace is within bounds.
        await first.SetAsync(Record("last", createdAt: T0.AddMinutes(1), body: new string('x', 20)));

        var inventory = await first.GetInventoryAsync();
        Assert.True(inventory.Entries <= 20, $"{inventory.Entries} entries");
        Assert.True(inventory.Bytes <= 20 * 40, $"{inventory.Bytes} bytes");
        Assert.NotNull(await first.GetAsync("last"));
        Assert.Equal(2 * 8 * 15 + 1 - inventory.Entries, (await first.GetCountersAsync())["evictions"]);
    }

    private static void AssertAbout(long expectedSeconds, long actualSeconds) =>
        Assert.InRange(actualSeconds, expectedSeconds - 5, expectedSeconds);
}
