using HttpCache.Engine.Diagnostics;
using HttpCache.Engine.Policy;
using HttpCache.Engine.Storage;
using HttpCache.Engine.Storage.Memory;
using HttpCache.Engine.Storage.Sqlite;
using HttpCache.Engine.Tests.Http;
using HttpCache.Testing;
using Microsoft.Extensions.Time.Testing;

namespace HttpCache.Engine.Tests;

/// <summary><see cref="HttpCacheSession"/>: statistics, flushing, entry management, lifetime, concurrency.</summary>
public sealed class SessionTests(OriginFixture fixture) : IClassFixture<OriginFixture>
{
    private static readonly DateTimeOffset T0 = CacheHarness.T0;
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);

    private readonly TestOrigin origin = fixture.Origin;

    private string MapMaxAge(string name, int seconds = 60)
    {
        var path = origin.NewPath(name);
        origin.Map(path, OriginBehaviors.MaxAge(seconds));
        return path;
    }

    [Fact]
    public async Task Statistics_are_cumulative_across_sessions_sharing_a_store()
    {
        var folder = Path.Combine(Path.GetTempPath(), "HttpCache.Tests", Guid.NewGuid().ToString("N"));
        var file = Path.Combine(folder, "shared.sqlite");
        var path = MapMaxAge("cumulative");
        try
        {
            CacheCounterSet firstSession;
            await using (var first = new HttpCacheSession(new SqliteCacheStore(file), timeProvider: new FakeTimeProvider(T0)))
            {
                (await first.SendAsync(new HttpRequestMessage(HttpMethod.Get, origin.Url(path)))).Dispose();
                (await first.SendAsync(new HttpRequestMessage(HttpMethod.Get, origin.Url(path)))).Dispose();
                firstSession = first.Counters.Snapshot();
            }

            await using var second = new HttpCacheSession(new SqliteCacheStore(file), timeProvider: new FakeTimeProvider(T0));
            for (var i = 0; i < 3; i++)
            {
                (await second.SendAsync(new HttpRequestMessage(HttpMethod.Get, origin.Url(path)))).Dispose();
            }

            var statistics = await second.GetStatisticsAsync();

            Assert.Equal((1, 1, 1), (firstSession.Hits, firstSession.Misses, firstSession.Stores));
            Assert.Equal(3, statistics.Session.Hits);
            Assert.Equal(0, statistics.Session.Misses);
            Assert.Equal(4, statistics.Cumulative.Hits);
            Assert.Equal(1, statistics.Cumulative.Misses);
            Assert.Equal(1, statistics.Cumulative.Stores);
            Assert.Equal(0.8, statistics.Cumulative.HitRate, 6);
            Assert.Equal(1, statistics.Inventory.Entries);
            Assert.Equal(1, origin.RequestCount(path));
        }
        finally
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    [Fact]
    public async Task A_failed_flush_keeps_the_figures_for_the_next_one()
    {
        var store = new FailingStore();
        await using var cache = CacheHarness.Over(store);
        var path = MapMaxAge("flush-retry");
        await cache.GetAsync(origin.Url(path));
        await cache.GetAsync(origin.Url(path));

        store.FailWrites = true;
        await Assert.ThrowsAsync<CacheStoreException>(() => cache.Session.FlushAsync());
        store.FailWrites = false;
        var statistics = await cache.Session.GetStatisticsAsync();

        Assert.Equal(1, statistics.Cumulative.Hits);
        Assert.Equal(1, statistics.Cumulative.Misses);
        Assert.Equal(1, statistics.Cumulative.Stores);
    }

    [Fact]
    public async Task Flushing_twice_adds_nothing_twice()
    {
        await using var cache = CacheHarness.Create();
        var path = MapMaxAge("flush-twice");
        await cache.GetAsync(origin.Url(path));
        await cache.GetAsync(origin.Url(path));

        await cache.Session.FlushAsync();
        await cache.Session.FlushAsync();
        var statistics = await cache.Session.GetStatisticsAsync();

        Assert.Equal(statistics.Session, statistics.Cumulative);
        Assert.Equal(1, Assert.Single(await cache.EntriesAsync()).HitCount);
    }

    [Fact]
    public async Task Counters_and_hit_counts_are_flushed_in_the_background_when_due()
    {
        await using var cache = CacheHarness.Create();
        var path = MapMaxAge("background-flush", 600);
        await cache.GetAsync(origin.Url(path));
        await cache.GetAsync(origin.Url(path));
        cache.Clock.Advance(3 * Second);

        await cache.GetAsync(origin.Url(path)); // due: starts a flush without waiting for it

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        IReadOnlyDictionary<string, long> persisted;
        do
        {
            persisted = await cache.Store.GetCountersAsync();
            if (persisted.GetValueOrDefault(CacheCounters.StoreName(CacheCounter.Hits)) == 2)
            {
                break;
            }

            await Task.Delay(20);
        }
        while (DateTime.UtcNow < deadline);

        Assert.Equal(2, persisted.GetValueOrDefault(CacheCounters.StoreName(CacheCounter.Hits)));
        Assert.Equal(1, persisted.GetValueOrDefault(CacheCounters.StoreName(CacheCounter.Misses)));
    }

    [Fact]
    public async Task GetEntriesAsync_flushes_first_so_hit_counts_are_current()
    {
        await using var cache = CacheHarness.Create();
        var path = MapMaxAge("entries");
        await cache.GetAsync(origin.Url(path));
        cache.Clock.Advance(5 * Second);
        await cache.GetAsync(origin.Url(path));
        await cache.GetAsync(origin.Url(path));

        var entries = new List<CacheRecordInfo>();
        await foreach (var entry in cache.Session.GetEntriesAsync(CacheQuery.All))
        {
            entries.Add(entry);
        }

        var only = Assert.Single(entries);
        Assert.Equal(2, only.HitCount);
        Assert.Equal(T0 + 5 * Second, only.LastAccessedAt);
        Assert.Equal(origin.Url(path).AbsoluteUri, only.Uri);
        Assert.Equal("GET", only.Method);
        Assert.Equal(200, only.StatusCode);
        Assert.Equal(T0, only.CreatedAt);
        Assert.Equal(T0 + 60 * Second, only.ExpiresAt);
    }

    [Fact]
    public async Task ResetExpirationAsync_counts_the_new_lifetime_from_now()
    {
        await using var cache = CacheHarness.Create();
        var path = MapMaxAge("reset");
        var first = await cache.GetAsync(origin.Url(path));
        cache.Clock.Advance(10 * Second);

        Assert.True(await cache.Session.ResetExpirationAsync(first.Info.CacheKey!, Expiration.ExpireImmediately));
        var afterReset = await cache.GetAsync(origin.Url(path));
        Assert.True(await cache.Session.ResetExpirationAsync(afterReset.Info.CacheKey!, Expiration.After(TimeSpan.FromHours(1))));
        var entry = Assert.Single(await cache.EntriesAsync());

        Assert.Equal(CacheReason.MissExpired, afterReset.Info.Reason);
        Assert.Equal(T0 + 10 * Second + TimeSpan.FromHours(1), entry.ExpiresAt);
        Assert.False(cache.Session.IsExpired(entry));
        Assert.False(await cache.Session.ResetExpirationAsync("no-such-key", Expiration.NeverExpire));
    }

    [Fact]
    public async Task ResetExpirationAsync_refuses_DoNotCache()
    {
        await using var cache = CacheHarness.Create();

        await Assert.ThrowsAsync<ArgumentException>(() => cache.Session.ResetExpirationAsync("any", Expiration.DoNotCache));
    }

    [Fact]
    public async Task IsExpired_follows_the_session_clock()
    {
        await using var cache = CacheHarness.Create();
        var path = MapMaxAge("is-expired");
        await cache.GetAsync(origin.Url(path));
        var entry = Assert.Single(await cache.EntriesAsync());

        Assert.False(cache.Session.IsExpired(entry));
        cache.Clock.Advance(60 * Second);
        Assert.True(cache.Session.IsExpired(entry));
    }

    [Fact]
    public async Task Removed_entries_are_fetched_again()
    {
        await using var cache = CacheHarness.Create();
        var path = MapMaxAge("removed");
        var first = await cache.GetAsync(origin.Url(path));

        var removed = await cache.Session.RemoveEntriesAsync(new CacheQuery { Key = first.Info.CacheKey });
        var again = await cache.GetAsync(origin.Url(path));

        Assert.Equal(1, removed);
        Assert.Equal(CacheReason.MissNoEntry, again.Info.Reason);
        Assert.Equal("2", again.Body);
    }

    [Fact]
    public async Task Create_makes_a_memory_session_with_the_given_settings_and_clock()
    {
        var clock = new FakeTimeProvider(T0);
        var settings = CacheSettings.Default with { ExpireAfter = Expiration.After(TimeSpan.FromMinutes(5)) };
        await using var session = HttpCacheSession.Create(new HttpCacheSessionOptions { Backend = CacheBackend.Memory, Settings = settings, TimeProvider = clock, Name = "named" });
        var path = origin.NewPath("created");
        origin.Map(path, OriginBehaviors.Counter());

        using var response = await session.Client.GetAsync(origin.Url(path));

        Assert.Equal("Memory", session.Store.BackendName);
        Assert.Equal("named", session.Name);
        // The given settings, with the key secret Create resolved (a Memory store's: random per process).
        Assert.Equal(settings with { KeySecret = session.Settings.KeySecret }, session.Settings);
        Assert.Equal(32, session.Settings.KeySecret!.Length);
        Assert.Equal(T0, session.CreatedAt);
        Assert.Equal(T0 + TimeSpan.FromMinutes(5), response.GetCacheInfo()!.ExpiresAt);
    }

    [Fact]
    public async Task A_session_without_a_name_is_default()
    {
        await using var session = new HttpCacheSession(new MemoryCacheStore());

        Assert.Equal("default", session.Name);
    }

    [Fact]
    public async Task A_disposed_session_refuses_requests_and_disposing_twice_is_harmless()
    {
        var cache = CacheHarness.Create();
        await cache.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => cache.Session.SendAsync(new HttpRequestMessage(HttpMethod.Get, origin.Url("/any"))));
        cache.Session.Dispose();
    }

    [Fact]
    public async Task Disposing_flushes_the_figures_into_the_store()
    {
        var folder = Path.Combine(Path.GetTempPath(), "HttpCache.Tests", Guid.NewGuid().ToString("N"));
        var file = Path.Combine(folder, "dispose.sqlite");
        var path = MapMaxAge("dispose-flush");
        try
        {
            var session = new HttpCacheSession(new SqliteCacheStore(file), timeProvider: new FakeTimeProvider(T0));
            (await session.SendAsync(new HttpRequestMessage(HttpMethod.Get, origin.Url(path)))).Dispose();
            (await session.SendAsync(new HttpRequestMessage(HttpMethod.Get, origin.Url(path)))).Dispose();
            await session.DisposeAsync();

            await using var reopened = new SqliteCacheStore(file);
            var persisted = await reopened.GetCountersAsync();
            var entry = Assert.Single(await ListAsync(reopened));

            Assert.Equal(1, persisted[CacheCounters.StoreName(CacheCounter.Hits)]);
            Assert.Equal(1, persisted[CacheCounters.StoreName(CacheCounter.Misses)]);
            Assert.Equal(1, entry.HitCount);
        }
        finally
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    private static async Task<List<CacheRecordInfo>> ListAsync(ICacheStore store)
    {
        var list = new List<CacheRecordInfo>();
        await foreach (var entry in store.ListAsync(CacheQuery.All))
        {
            list.Add(entry);
        }

        return list;
    }

    [Fact]
    public async Task Disposing_with_a_failing_store_does_not_throw()
    {
        var store = new FailingStore();
        var cache = CacheHarness.Over(store);
        await cache.GetAsync(origin.Url(MapMaxAge("dispose-failing")));
        store.FailWrites = true;

        var thrown = await Record.ExceptionAsync(() => cache.DisposeAsync().AsTask());

        Assert.Null(thrown);
    }

    [Theory]
    [InlineData("Memory")]
    [InlineData("Sqlite")]
    public async Task Fifty_parallel_requests_of_every_kind_through_one_session(string backend)
    {
        await using var cache = CacheHarness.Create(backend);
        var fresh = MapMaxAge("mixed-fresh");
        var tagged = origin.NewPath("mixed-etag");
        origin.Map(tagged, OriginBehaviors.ETag("\"m\""));
        var noStore = origin.NewPath("mixed-no-store");
        origin.Map(noStore, OriginBehaviors.NoStore());
        string[] paths = [fresh, tagged, noStore];
        var immediately = new CacheRequestOptions { ExpireAfter = Expiration.ExpireImmediately };

        var answers = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => Task.Run(async () =>
        {
            var path = paths[i % paths.Length];
            var options = path == tagged ? immediately : null;
            var method = i % 7 == 0 ? HttpMethod.Head : HttpMethod.Get;
            return await cache.SendAsync(method, origin.Url(path), options);
        })));

        Assert.All(answers, a => Assert.Equal(200, a.Status));
        Assert.All(answers.Where(a => a.Response.RequestMessage!.Method == HttpMethod.Get), a => Assert.Matches("^[0-9]+$", a.Body));
        var counters = cache.Counters;
        Assert.Equal(50, counters.Hits + counters.Misses); // every request is exactly one of the two
        Assert.Equal(0, counters.Errors);
        Assert.Equal(0, counters.CorruptEntries);
        var statistics = await cache.Session.GetStatisticsAsync();
        Assert.Equal(statistics.Session, statistics.Cumulative);
    }
}
