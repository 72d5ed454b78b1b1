using HttpCache.Engine.Diagnostics;
using HttpCache.Engine.Policy;
using HttpCache.Engine.Storage;
using Microsoft.AspNetCore.Http;

namespace HttpCache.Engine.Tests.Http;

/// <summary>
/// Behaviours that had no test before: invalidation through Content-Location and not across origins, the quiet
/// minute that ends a store outage, a disposed session's background refreshes, a removal after a queued write,
/// and an expired entry kept for its offset and then purged. Real origin, fake clock.
/// </summary>
public sealed class InvalidationAndLifetimeTests(OriginFixture fixture) : IClassFixture<OriginFixture>
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    private readonly TestOrigin origin = fixture.Origin;

    private string MapNew(string name, RequestDelegate behavior)
    {
        var path = origin.NewPath(name);
        origin.Map(path, behavior);
        return path;
    }

    private static Dictionary<string, string> Header(string name, string value) => new(StringComparer.OrdinalIgnoreCase) { [name] = value };

    [Fact]
    public async Task Rfc9111_4_4_The_same_origin_Content_Location_is_invalidated_too()
    {
        await using var cache = CacheHarness.Create();
        var item = MapNew("item", OriginBehaviors.MaxAge(60));
        var update = MapNew("update", context => TestOrigin.WriteAsync(context, 200, "updated", Header("Content-Location", item)));

        Assert.False((await cache.GetAsync(origin.Url(item))).Info.FromCache);
        Assert.True((await cache.GetAsync(origin.Url(item))).Info.FromCache);
        await cache.SendAsync(HttpMethod.Post, origin.Url(update), body: "change");
        var after = await cache.GetAsync(origin.Url(item));

        Assert.False(after.Info.FromCache);
        Assert.Equal("2", after.Body);
        Assert.Equal(2, origin.RequestCount(item));
        Assert.Equal(1, cache.Counters.Invalidations);
    }

    [Theory]
    [InlineData("Location")]
    [InlineData("Content-Location")]
    public async Task Rfc9111_4_4_A_Location_on_another_origin_is_not_invalidated(string header)
    {
        // The same path on another origin (another port): an answer from one origin must not remove another's
        // entries (RFC 9111 §4.4: only URIs with the same origin).
        await using var other = await TestOrigin.StartAsync();
        await using var cache = CacheHarness.Create();
        var path = origin.NewPath("foreign");
        other.Map(path, OriginBehaviors.MaxAge(60));
        var update = MapNew("cross", context => TestOrigin.WriteAsync(context, 201, "created", Header(header, other.Url(path).AbsoluteUri)));

        await cache.GetAsync(other.Url(path));
        await cache.SendAsync(HttpMethod.Post, origin.Url(update), body: "new");
        var after = await cache.GetAsync(other.Url(path));

        Assert.True(after.Info.FromCache);
        Assert.Equal(1, other.RequestCount(path));
        Assert.Equal(0, cache.Counters.Invalidations);
    }

    [Fact]
    public async Task A_quiet_minute_ends_an_outage_and_the_next_failure_warns_again()
    {
        var store = new FailingStore { FailReads = true, FailWrites = true };
        await using var cache = CacheHarness.Over(store);
        var path = MapNew("quiet", OriginBehaviors.MaxAge(60));

        var first = await cache.GetAsync(origin.Url(path));
        cache.Clock.Advance(TimeSpan.FromSeconds(59));
        var withinTheMinute = await cache.GetAsync(origin.Url(path));
        cache.Clock.Advance(TimeSpan.FromSeconds(60) + TimeSpan.FromTicks(1));
        var afterAQuietMinute = await cache.GetAsync(origin.Url(path));

        Assert.True(first.HasDiagnostic(CacheEventId.StoreFailure, CacheDiagnosticLevel.Warning));
        Assert.False(withinTheMinute.HasDiagnostic(CacheEventId.StoreFailure, CacheDiagnosticLevel.Warning));
        Assert.True(withinTheMinute.HasDiagnostic(CacheEventId.StoreFailure, CacheDiagnosticLevel.Verbose));
        Assert.True(afterAQuietMinute.HasDiagnostic(CacheEventId.StoreFailure, CacheDiagnosticLevel.Warning));
        Assert.Equal(3, origin.RequestCount(path));
    }

    [Fact]
    public async Task Disposing_a_session_cancels_its_background_refreshes()
    {
        // The refresh is held at the origin and never let go: only the session's disposal can end it, and the
        // origin sees it aborted.
        var gate = new OriginGate();
        var held = gate.Hold(OriginBehaviors.MaxAge(60));
        var fresh = OriginBehaviors.MaxAge(60);
        var path = MapNew("refresh", context => TestOrigin.RequestNumber(context) == 1 ? fresh(context) : held(context));
        var cache = CacheHarness.Create(settings: CacheSettings.Default with { StaleWhileRevalidate = TimeSpan.FromMinutes(10) });
        try
        {
            await cache.GetAsync(origin.Url(path));
            cache.Clock.Advance(TimeSpan.FromSeconds(61));
            var stale = await cache.GetAsync(origin.Url(path));
            Assert.Equal(CacheReason.StaleWhileRevalidate, stale.Info.Reason);
            await gate.WhenHeldAsync(1).WaitAsync(Guard);
            Assert.Equal(1, cache.Session.Handler.PendingRefreshes);
        }
        finally
        {
            await cache.DisposeAsync().AsTask().WaitAsync(Guard);
        }

        await gate.WhenAbortedAsync(1).WaitAsync(Guard);
        Assert.Equal(0, cache.Session.Handler.PendingRefreshes);
        Assert.Equal(2, origin.RequestCount(path));
    }

    [Fact]
    public async Task A_queued_write_never_undoes_a_removal_that_came_after_it()
    {
        // The store holds the write of the miss; the removal is asked for while it is still queued, and must see
        // the entry gone once both are done (the removal waits for the writes queued before it).
        var hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var store = new FailingStore { HoldWrites = hold.Task };
        await using var cache = CacheHarness.Over(store);
        var path = MapNew("remove-after-write", OriginBehaviors.MaxAge(60));

        var miss = await cache.GetAsync(origin.Url(path));
        Assert.Equal(CacheReason.Stored, miss.Info.StoreReason);
        var remove = cache.Session.RemoveEntriesAsync(CacheQuery.All);
        Assert.False(remove.IsCompleted);
        hold.SetResult();
        await remove.WaitAsync(Guard);

        Assert.Empty(await cache.EntriesAsync());
        Assert.False((await cache.GetAsync(origin.Url(path))).Info.FromCache);
        Assert.Equal(2, origin.RequestCount(path));
    }

    [Fact]
    public async Task An_expired_entry_is_kept_for_its_offset_and_then_purged()
    {
        // KeepExpiredFor (-TtlOffset): the second clock. The purge runs with the session's flushes, at most once
        // every five minutes of the session's clock.
        await using var cache = CacheHarness.Create(settings: CacheSettings.Default with { KeepExpiredFor = TimeSpan.FromHours(1) });
        var path = MapNew("kept", OriginBehaviors.MaxAge(60));
        await cache.GetAsync(origin.Url(path));

        cache.Clock.Advance(TimeSpan.FromSeconds(60) + TimeSpan.FromMinutes(59));
        await cache.Session.FlushAsync();
        var kept = Assert.Single(await cache.EntriesAsync());
        Assert.Equal(CacheHarness.T0.AddSeconds(60).AddHours(1), kept.KeepUntil);

        // Past the kept-until time, and the five minutes since the last purge: the next flush removes it.
        cache.Clock.Advance(TimeSpan.FromMinutes(5));
        await cache.Session.FlushAsync();
        Assert.Empty(await cache.EntriesAsync());
    }
}
