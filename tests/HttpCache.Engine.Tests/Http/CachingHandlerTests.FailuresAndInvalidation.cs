using System.Net;
using HttpCache.Engine.Diagnostics;
using HttpCache.Engine.Http;
using HttpCache.Engine.Policy;
using HttpCache.Engine.Storage;
using HttpCache.Testing;
using Microsoft.AspNetCore.Http;

namespace HttpCache.Engine.Tests.Http;

public sealed partial class CachingHandlerTests
{
    // ---- Counters, corruption, failures ----

    [Fact]
    public async Task Counters_count_hits_misses_revalidations_stores_and_bypasses()
    {
        await using var cache = CacheHarness.Create();
        var plain = MapNew("counted", OriginBehaviors.MaxAge(60));
        var tagged = MapNew("counted-etag", OriginBehaviors.ETag("\"c\"", H("Cache-Control: max-age=60")));
        var posted = MapNew("counted-post", OriginBehaviors.Status(404));

        await cache.GetAsync(origin.Url(tagged));                                  // miss, store
        cache.Clock.Advance(61 * Second);
        await cache.GetAsync(origin.Url(plain));                                   // miss, store
        await cache.GetAsync(origin.Url(plain));                                   // hit
        await cache.GetAsync(origin.Url(tagged));                                  // revalidated: hit, store
        await cache.SendAsync(HttpMethod.Post, origin.Url(posted), body: "x");     // bypass
        await cache.GetAsync(origin.Url(plain), Mode(CacheMode.OnlyIfCached));     // hit
        await cache.GetAsync(origin.Url(origin.NewPath("none")), Mode(CacheMode.OnlyIfCached)); // miss (504)

        var counters = cache.Counters;
        Assert.Equal(3, counters.Hits);
        Assert.Equal(3, counters.Misses);
        Assert.Equal(1, counters.Revalidations);
        Assert.Equal(3, counters.Stores);
        Assert.Equal(1, counters.Bypassed);
        Assert.Equal(0, counters.StaleServed);
        Assert.Equal(0, counters.Errors);
        Assert.Equal(0, counters.CorruptEntries);
        Assert.Equal(0, counters.Invalidations);
        Assert.Equal(0.5, counters.HitRate);

        var statistics = await cache.Session.GetStatisticsAsync();
        Assert.Equal(counters, statistics.Session);
        Assert.Equal(counters, statistics.Cumulative);
        Assert.Equal(2, statistics.Inventory.Entries);
    }

    [Theory]
    [InlineData("Memory")]
    [InlineData("Sqlite")]
    public async Task Hit_counts_reach_the_store_on_flush(string backend)
    {
        await using var cache = CacheHarness.Create(backend);
        var path = MapNew("hit-count", OriginBehaviors.MaxAge(600));

        var first = await cache.GetAsync(origin.Url(path));
        for (var i = 1; i <= 3; i++)
        {
            cache.Clock.Advance(Second);
            await cache.GetAsync(origin.Url(path));
        }

        await cache.Session.FlushAsync();

        var entry = Assert.Single(await cache.EntriesAsync());
        Assert.Equal(first.Info.CacheKey, entry.Key);
        Assert.Equal(3, entry.HitCount);
        Assert.Equal(T0 + 3 * Second, entry.LastAccessedAt);
    }

    [Theory]
    [InlineData("Memory")]
    [InlineData("Sqlite")]
    public async Task A_corrupt_entry_is_a_miss_removed_restored_counted_and_reported(string backend)
    {
        await using var cache = CacheHarness.Create(backend);
        var victim = MapNew("corrupt", OriginBehaviors.MaxAge(60));
        var bystander = MapNew("intact", OriginBehaviors.MaxAge(60));
        var first = await cache.GetAsync(origin.Url(victim));
        await cache.GetAsync(origin.Url(bystander));
        await cache.Session.Handler.DrainWritesAsync();

        var record = (await cache.Store.GetAsync(first.Info.CacheKey!))!;
        await cache.Store.SetAsync(new CacheRecord
        {
            Key = record.Key,
            PrimaryKey = record.PrimaryKey,
            Method = record.Method,
            Uri = record.Uri,
            StatusCode = record.StatusCode,
            CreatedAt = record.CreatedAt,
            ExpiresAt = record.ExpiresAt,
            Metadata = "{\"not\": \"an entry\"}"u8.ToArray(),
            Body = record.Body,
        });

        var afterCorruption = await cache.GetAsync(origin.Url(victim));
        var again = await cache.GetAsync(origin.Url(victim));
        var other = await cache.GetAsync(origin.Url(bystander));

        Assert.Equal(200, afterCorruption.Status);
        Assert.Equal("2", afterCorruption.Body);
        Assert.False(afterCorruption.Info.FromCache);
        Assert.Equal(CacheReason.MissNoEntry, afterCorruption.Info.Reason);
        Assert.Equal(CacheReason.Stored, afterCorruption.Info.StoreReason);
        Assert.True(afterCorruption.HasDiagnostic(CacheEventId.CorruptEntry, CacheDiagnosticLevel.Warning));
        Assert.Equal(1, cache.Counters.CorruptEntries);
        Assert.Equal(0, cache.Counters.Errors);

        await cache.Session.Handler.DrainWritesAsync();
        var restored = (await cache.Store.GetAsync(first.Info.CacheKey!))!;
        var readable = EntrySerializer.Deserialize(restored, restored.Metadata, restored.Body);
        Assert.Equal(200, readable.StatusCode);

        Assert.Equal("2", again.Body);
        Assert.True(again.Info.FromCache);
        Assert.Equal("1", other.Body);
        Assert.True(other.Info.FromCache);
        Assert.Equal(2, origin.RequestCount(victim));
        Assert.Equal(1, origin.RequestCount(bystander));
    }

    [Fact]
    public async Task A_store_that_cannot_read_leaves_the_origin_to_answer()
    {
        var store = new FailingStore { FailReads = true, FailWrites = true };
        await using var cache = CacheHarness.Over(store);
        var path = MapNew("store-down", OriginBehaviors.MaxAge(60));

        var first = await cache.GetAsync(origin.Url(path));
        var second = await cache.GetAsync(origin.Url(path));

        Assert.Equal(200, first.Status);
        Assert.Equal("1", first.Body);
        Assert.Equal("2", second.Body);
        Assert.Equal(CacheReason.BypassStoreFailure, first.Info.Reason);
        Assert.Equal(CacheReason.NotStoredStoreFailure, first.Info.StoreReason);
        Assert.True(first.HasDiagnostic(CacheEventId.StoreFailure, CacheDiagnosticLevel.Warning));
        Assert.Contains(first.Info.Diagnostics, d => d.Message.Contains("Failing", StringComparison.Ordinal));
        Assert.Equal(2, cache.Counters.Errors);
        Assert.Equal(2, origin.RequestCount(path));
    }

    [Fact]
    public async Task A_store_that_cannot_write_leaves_the_origin_to_answer()
    {
        // Writes leave the request path: the failure shows on the next request, warned and counted.
        var store = new FailingStore { FailWrites = true };
        await using var cache = CacheHarness.Over(store);
        var path = MapNew("store-readonly", OriginBehaviors.MaxAge(60));

        var first = await cache.GetAsync(origin.Url(path));
        await cache.Session.Handler.DrainWritesAsync();
        var second = await cache.GetAsync(origin.Url(path));

        Assert.Equal("1", first.Body);
        Assert.Equal(CacheReason.MissNoEntry, first.Info.Reason);
        Assert.Equal("2", second.Body);
        Assert.False(second.Info.FromCache);
        Assert.True(second.HasDiagnostic(CacheEventId.StoreFailure, CacheDiagnosticLevel.Warning));
        Assert.Contains(second.Info.Diagnostics, d => d.Message.Contains("Failing", StringComparison.Ordinal));
        Assert.Equal(1, cache.Counters.Errors);
        Assert.Empty(await cache.EntriesAsync());
        Assert.Equal(2, origin.RequestCount(path));
    }

    [Fact]
    public async Task A_store_that_fails_during_revalidation_still_serves_the_revalidated_answer()
    {
        var store = new FailingStore();
        await using var cache = CacheHarness.Over(store);
        var path = MapNew("renew-fails", OriginBehaviors.ETag("\"x\"", H("Cache-Control: max-age=60")));

        await cache.GetAsync(origin.Url(path));
        await cache.Session.Handler.DrainWritesAsync();
        cache.Clock.Advance(61 * Second);
        store.FailWrites = true;
        var revalidated = await cache.GetAsync(origin.Url(path));
        await cache.Session.Handler.DrainWritesAsync();
        var next = await cache.GetAsync(origin.Url(path));

        Assert.Equal(200, revalidated.Status);
        Assert.Equal("1", revalidated.Body);
        Assert.True(revalidated.Info.Revalidated);
        Assert.True(next.HasDiagnostic(CacheEventId.StoreFailure, CacheDiagnosticLevel.Warning));
        Assert.Equal(1, cache.Counters.Errors);
    }

    // ---- Origin failures ----

    [Fact]
    public async Task A_cancelled_slow_request_throws_and_stores_nothing()
    {
        await using var cache = CacheHarness.Create();
        var path = MapNew("slow", OriginBehaviors.Slow(TimeSpan.FromSeconds(30), OriginBehaviors.MaxAge(60)));
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));

        var request = new HttpRequestMessage(HttpMethod.Get, origin.Url(path));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cache.SendAsync(request, cancellationToken: cancel.Token));

        Assert.Empty(await cache.EntriesAsync());
        Assert.Equal(1, origin.RequestCount(path));
    }

    [Fact]
    public async Task A_dropped_connection_throws_and_the_session_keeps_working()
    {
        await using var cache = CacheHarness.Create();
        var dropped = MapNew("drop", OriginBehaviors.Drop());
        var fine = MapNew("after-drop", OriginBehaviors.MaxAge(60));

        await Assert.ThrowsAsync<HttpRequestException>(() => cache.GetAsync(origin.Url(dropped)));
        var answer = await cache.GetAsync(origin.Url(fine));

        Assert.Equal(200, answer.Status);
        Assert.Equal(CacheReason.Stored, answer.Info.StoreReason);
        Assert.Single(await cache.EntriesAsync());
    }

    // ---- Invalidation (RFC 9111 §4.4) ----

    [Fact]
    public async Task Rfc9111_4_4_A_successful_unsafe_request_invalidates_the_stored_answers()
    {
        await using var cache = CacheHarness.Create();
        var path = MapNew("invalidated", OriginBehaviors.MaxAge(60));

        // HEAD first: once a GET is stored, a HEAD is answered from it (§4.3.5) and stores nothing of its own.
        await cache.SendAsync(HttpMethod.Head, origin.Url(path));
        await cache.GetAsync(origin.Url(path));
        var post = await cache.SendAsync(HttpMethod.Post, origin.Url(path), body: "change");
        var after = await cache.GetAsync(origin.Url(path));

        Assert.Equal(CacheReason.Invalidated, post.Info.StoreReason);
        Assert.Equal(2, cache.Counters.Invalidations);
        Assert.Equal(CacheReason.MissNoEntry, after.Info.Reason);
        Assert.Equal("4", after.Body);
    }

    [Fact]
    public async Task Rfc9111_4_4_A_failed_unsafe_request_invalidates_nothing()
    {
        await using var cache = CacheHarness.Create();
        var path = MapNew("not-invalidated", context => HttpMethods.IsGet(context.Request.Method)
            ? OriginBehaviors.MaxAge(60)(context)
            : TestOrigin.WriteAsync(context, 500, "refused"));

        await cache.GetAsync(origin.Url(path));
        var delete = await cache.SendAsync(HttpMethod.Delete, origin.Url(path));
        var after = await cache.GetAsync(origin.Url(path));

        Assert.Equal(500, delete.Status);
        Assert.True(after.Info.FromCache);
        Assert.Equal(0, cache.Counters.Invalidations);
    }

    [Fact]
    public async Task Rfc9111_4_4_The_same_origin_Location_is_invalidated_too()
    {
        await using var cache = CacheHarness.Create();
        var item = MapNew("item", OriginBehaviors.MaxAge(60));
        var collection = MapNew("collection", context => TestOrigin.WriteAsync(context, 201, "created", H($"Location: {item}")));

        await cache.GetAsync(origin.Url(item));
        await cache.SendAsync(HttpMethod.Post, origin.Url(collection), body: "new");
        var after = await cache.GetAsync(origin.Url(item));

        Assert.False(after.Info.FromCache);
        Assert.Equal(2, origin.RequestCount(item));
    }
}
